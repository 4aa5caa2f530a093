import os

from django.core.asgi import get_asgi_application

from quorum.core.limits import BodyLimitASGI

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")

# Django reads a whole body before its first middleware: the limit must come before Django.
application = BodyLimitASGI(get_asgi_application())
