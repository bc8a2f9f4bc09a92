from django.db import models


class Member(models.Model):
    """Seed 2's own user table (not django.contrib.auth): id, username, email, password."""

    username = models.CharField(max_length=100, unique=True)
    password = models.CharField(max_length=100)
    email = models.CharField(max_length=100, unique=True)

    class Meta:
        db_table = "jwt_api_member"
