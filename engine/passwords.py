"""Password hashes: scrypt from the standard library, in the ``method$salt$hash`` format
that earlier versions stored (Werkzeug's), so existing accounts keep working.

Formats read: ``scrypt:N:r:p$salt$hexdigest`` and ``pbkdf2:sha256:iterations$salt$hex``.
New hashes use scrypt with N=2**15, r=8, p=1.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_SALT_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_SCRYPT = (2**15, 8, 1)


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``."""
    salt = "".join(secrets.choice(_SALT_CHARS) for _ in range(16))
    n, r, p = _SCRYPT
    return f"scrypt:{n}:{r}:{p}${salt}${_scrypt(password, salt, n, r, p)}"


def check_password(stored: str, password: str) -> bool:
    """True if ``password`` matches the ``stored`` hash; False for anything unreadable."""
    try:
        method, salt, digest = stored.split("$", 2)
        name, *args = method.split(":")
        if name == "scrypt":
            n, r, p = (int(a) for a in args) if args else _SCRYPT
            actual = _scrypt(password, salt, n, r, p)
        elif name == "pbkdf2":
            algorithm = args[0] if args else "sha256"
            rounds = int(args[1]) if len(args) > 1 else 600_000
            actual = hashlib.pbkdf2_hmac(algorithm, password.encode(), salt.encode(), rounds).hex()
        else:
            return False
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, digest)


def _scrypt(password: str, salt: str, n: int, r: int, p: int) -> str:
    maxmem = 132 * n * r * p  # what these parameters need, with room to spare
    return hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=maxmem).hex()
