"""Django's own PBKDF2 hashers with a test's iteration count.

Django's defaults (over a million iterations) make each check of an imported hash take
seconds in authd's unoptimised test build, and the import test checks several. The hashes
stay Django's: the same classes, the same `pbkdf2_sha256$<iterations>$<salt>$<hash>`
format, only a smaller `<iterations>` (authd reads it from the hash, as Django does).
"""

from django.contrib.auth.hashers import PBKDF2PasswordHasher, PBKDF2SHA1PasswordHasher

ITERATIONS = 20_000


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = ITERATIONS


class QuickPBKDF2SHA1PasswordHasher(PBKDF2SHA1PasswordHasher):
    iterations = ITERATIONS
