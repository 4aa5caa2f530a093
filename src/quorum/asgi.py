import os

from django.conf import settings
from django.core.asgi import get_asgi_application

from quorum.core.limits import ASGIApp, BodyLimitASGI

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")

django_application: ASGIApp = get_asgi_application()
if settings.QUORUM_FAST_PATH:
    from quorum.fastpath.app import FastPath

    django_application = FastPath(django_application)

# Django reads a whole body before its first middleware: the limit must come before Django
# and before the fast path.
application = BodyLimitASGI(django_application)
