"""Staff accounts: sign-in with a password and a TOTP code, sessions, roles.

Users are Django's ``auth.User``. Registrars and operators are Groups (see ``roles``);
organisers and authority staff are memberships kept by the rooms that own them.
"""
