"""The demo's password hasher: Django's PBKDF2 at 1,000 iterations (the demo users' hashes, store.py).

With Django's own hasher (1,000,000 iterations in 5.2) a hash of fewer iterations "must update", and
every *wrong* password against it is hardened to the full count (``harden_runtime``): a second of CPU
per failed login, so the brute-force fault would also slow the whole API down — true of production,
where the answer is rate limiting the login, but not what that fault is about. Never use this
iteration count for real passwords.
"""

from __future__ import annotations

from django.contrib.auth.hashers import PBKDF2PasswordHasher

__all__ = ["DemoPBKDF2PasswordHasher"]


class DemoPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1000
