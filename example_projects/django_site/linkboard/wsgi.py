"""WSGI entry point of the link board (``gunicorn linkboard.wsgi`` or any WSGI server)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkboard.settings")

application = get_wsgi_application()
