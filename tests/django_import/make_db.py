"""Makes a real Django database to import from, the way the Django projects authd replaces
made theirs: Django's own migrations for auth and DRF's authtoken, users created through
Django's ORM (so their hashes are Django's own: PBKDF2-SHA256 by default, plus one
PBKDF2-SHA1 and one Argon2 user; the PBKDF2 ones with a test's iteration count), DRF token keys, and seed 2's own `jwt_api_member`
table.

    python make_db.py PATH.sqlite3

Prints one JSON object: the users and keys it made, for the test to check against.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from django.conf import settings

settings.configure(
    SECRET_KEY="django-import-test",
    USE_TZ=True,
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "rest_framework",
        "rest_framework.authtoken",
        "members",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1]}},
    # Django's PBKDF2 hashers with fewer iterations (quick_hashers.py), so that checking
    # the imported hashes takes milliseconds rather than seconds in a test build.
    PASSWORD_HASHERS=[
        "quick_hashers.QuickPBKDF2PasswordHasher",
        "quick_hashers.QuickPBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ],
)

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from members.models import Member  # noqa: E402

call_command("migrate", run_syncdb=True, verbosity=0)

PASSWORD = "correct-horse-battery"
made = {"users": {}, "keys": {}}
for username, email, hasher, active in [
    ("alice", "alice@example.com", "pbkdf2_sha256", True),
    ("bob", "bob@example.com", "pbkdf2_sha1", True),
    ("carol", "carol@example.com", "argon2", True),
    ("dave", "", "pbkdf2_sha256", False),
    ("Taken", "taken@example.com", "pbkdf2_sha256", True),
    ("erin", "SHARED@example.com", "pbkdf2_sha256", True),
]:
    user = User.objects.create(
        username=username,
        email=email,
        password=make_password(PASSWORD, hasher=hasher),
        is_active=active,
    )
    made["users"][username] = {
        "id": user.id,
        "hash": user.password,
        "date_joined": int(user.date_joined.timestamp()),
    }
for username in ["alice", "dave"]:
    token = Token.objects.create(user=User.objects.get(username=username))
    made["keys"][username] = token.key

# A gap in the ids: the next users' ids are not simply 1, 2, 3… in authd either.
User.objects.filter(username="erin").update(id=40)
made["users"]["erin"]["id"] = 40

for username, email in [("mia", "mia@example.com"), ("noah", "noah@example.com")]:
    member = Member.objects.create(
        username=username, email=email, password=make_password(PASSWORD)
    )
    made.setdefault("members", {})[username] = member.id

print(json.dumps(made))
