"""Cut credentials out of text that may leave the process (error messages from drivers).

Driver errors quote DSNs, hosts and sometimes the password itself
(``password authentication failed``, ``invalid dsn: ...``). Patterns alone
cannot catch a password quoted on its own, so checks built from a DSN also
pass the literal secrets they know, which are replaced wherever they appear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit

__all__ = ["MASK", "dsn_secrets", "redact"]

MASK = "***"

# scheme://user:password@host  (also scheme://:password@host and scheme://password@host for redis)
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<userinfo>[^/\s@'\"<>]+)@")
_SENSITIVE_KEYS = (
    r"password|passwd|pwd|pass|secret|token|access_token|refresh_token|id_token|api[_-]?key|apikey|key"
    r"|auth|authorization|sig|signature|credential|credentials|session|private_key|client_secret"
)
# key=value in query strings and libpq conninfo ("host=x password=y"), key: value in headers/JSON
_KEY_VALUE = re.compile(
    rf"(?P<key>\b(?:[\w\-]*?[_\-])?(?:{_SENSITIVE_KEYS}))(?P<sep>\s*=\s*|\"?\s*:\s*\"?)"
    r"(?P<value>'[^']*'|\"[^\"]*\"|[^\s&;,'\"}]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(?P<scheme>Bearer|Basic|Token)\s+[A-Za-z0-9\-._~+/=]{4,}", re.IGNORECASE)


def _mask_userinfo(match: re.Match[str]) -> str:
    userinfo = match.group("userinfo")
    if ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        return f"{match.group('scheme')}{user}:{MASK}@"
    # redis://secret@host: a lone userinfo is the password for several drivers
    return f"{match.group('scheme')}{MASK}@"


def _mask_value(match: re.Match[str]) -> str:
    return f"{match.group('key')}{match.group('sep')}{MASK}"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL passwords, ``key=value`` secrets, bearer tokens and the given ``secrets`` masked.

    >>> redact("could not connect to postgresql://app:s3cret@db:5432/x?sslkey=k")
    'could not connect to postgresql://app:***@db:5432/x?sslkey=***'
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for form in {secret, quote(secret, safe=""), unquote(secret)}:
            if len(form) >= 3:  # masking "a" everywhere would shred the message
                text = text.replace(form, MASK)
    text = _URL_USERINFO.sub(_mask_userinfo, text)
    text = _BEARER.sub(lambda m: f"{m.group('scheme')} {MASK}", text)
    return _KEY_VALUE.sub(_mask_value, text)


def dsn_secrets(dsn: str) -> tuple[str, ...]:
    """The password of a URL-style DSN, in raw and decoded forms (empty when there is none)."""
    try:
        parts = urlsplit(dsn)
    except ValueError:  # unparsable (bad IPv6 host): the driver will quote it, so find the password anyway
        match = _URL_USERINFO.search(dsn)
        userinfo = match.group("userinfo") if match else ""
        password = userinfo.split(":", 1)[1] if ":" in userinfo else ""
        return tuple(dict.fromkeys(p for p in (password, unquote(password)) if p))
    found: list[str] = []
    if parts.password:
        found += [parts.password, unquote(parts.password)]
    elif parts.username and parts.scheme.startswith(("redis", "rediss")):
        found += [parts.username, unquote(parts.username)]
    for key, _, value in (pair.partition("=") for pair in parts.query.split("&")):
        if re.fullmatch(_SENSITIVE_KEYS, key, re.IGNORECASE) and value:
            found += [value, unquote(value)]
    return tuple(dict.fromkeys(found))
