"""The fast path: the two POSTs that carry statements, answered beside Django's stack.

A crowd that signs at once sends one kind of request: a statement, from the API or from the
web form. Under ASGI those two are answered here, in the event loop, by the same views and
services Django would call. The crowd that watches the count rise reads the same few answers
over and over: those are served from copies of Django's answers, made once per sequencer
interval (``reads``). Everything else goes to Django unchanged.
"""
