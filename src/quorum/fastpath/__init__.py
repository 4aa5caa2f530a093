"""The fast path: the two POSTs that carry statements, answered beside Django's stack.

A crowd that signs at once sends one kind of request: a statement, from the API or from the
web form. Under ASGI those two are answered here, in the event loop, by the same views and
services Django would call; everything else goes to Django unchanged.
"""
