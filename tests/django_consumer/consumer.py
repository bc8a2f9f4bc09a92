"""A Django REST Framework service that trusts authd's tokens, the way a team leaving
Django would run one: simplejwt's JWTStatelessUserAuthentication on every view, configured
from the environment.

    JWT_ALGORITHM=ES256 JWK_URL=http://authd/.well-known/jwks.json python consumer.py
    JWT_ALGORITHM=HS256 JWT_SECRET=... python consumer.py

It serves GET /whoami/ on 127.0.0.1 on a free port, and prints `listening on PORT` once
it accepts connections. The view answers the token's user id and type; anything simplejwt
refuses is its own 401.
"""

import os
import sys

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="consumer-of-authd-tokens",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "rest_framework",
    ],
    DATABASES={},
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "rest_framework_simplejwt.authentication.JWTStatelessUserAuthentication",
        ],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    },
    SIMPLE_JWT={
        "ALGORITHM": os.environ["JWT_ALGORITHM"],
        "SIGNING_KEY": os.environ.get("JWT_SECRET", ""),
        "VERIFYING_KEY": None,
        "JWK_URL": os.environ.get("JWK_URL"),
        "AUDIENCE": "authd",
        "ISSUER": "authd",
        "USER_ID_CLAIM": "user_id",
        "LEEWAY": 0,
    },
)

import django  # noqa: E402

django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.decorators import api_view  # noqa: E402
from rest_framework.response import Response  # noqa: E402


@api_view(["GET"])
def whoami(request):
    return Response({"user_id": request.user.id, "token_type": request.auth["token_type"]})


urlpatterns = [path("whoami/", whoami)]


def main():
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format, *args):
            pass

    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=QuietHandler)
    print(f"listening on {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
