"""Optional authentication for ``/metrics``: HTTP Basic or Bearer, secrets from env or file.

Why no inline secret: a password in code ends up in git and in tracebacks. The
secret is read from an environment variable or a file (a Kubernetes/compose
secret mount); a file is re-read when it changes, so a rotated secret takes
effect without a restart. Credentials are compared with
:func:`hmac.compare_digest` (constant time) and are never logged or echoed.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from tocsin.errors import ConfigurationError

__all__ = ["Auth"]

_REALM = "metrics"


class _Secret:
    """One secret from an environment variable or a file; the file is re-read when its mtime changes."""

    def __init__(self, what: str, env: str | None, file: str | os.PathLike[str] | None) -> None:
        if (env is None) == (file is None):
            raise ConfigurationError(f"{what}: give exactly one of {what}_env= or {what}_file=")
        self._what = what
        self._file = Path(file) if file is not None else None
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        if env is not None:
            value = os.environ.get(env, "")
            if not value:
                raise ConfigurationError(
                    f"{what}: environment variable {env} is not set or empty (set it, or use {what}_file=)"
                )
            self._value = value.encode("utf-8")
        else:
            self._value = self._read()

    def _read(self) -> bytes:
        assert self._file is not None
        try:
            stat = self._file.stat()
            # One trailing newline is what `echo secret > file` leaves; it is never part of the secret.
            value = self._file.read_bytes().rstrip(b"\r\n")
        except OSError as err:
            raise ConfigurationError(
                f"{self._what}: cannot read {self._file}: {err.strerror} (create the secret file)"
            ) from None
        if not value:
            raise ConfigurationError(f"{self._what}: {self._file} is empty (write the secret into it)")
        self._stamp = (stat.st_mtime_ns, stat.st_size)
        return value

    def get(self) -> bytes:
        if self._file is None:
            return self._value
        try:
            stat = self._file.stat()
        except OSError:
            return self._value  # a secret file briefly missing during rotation keeps the last value
        if (stat.st_mtime_ns, stat.st_size) != self._stamp:
            with self._lock:
                try:
                    self._value = self._read()
                except ConfigurationError:
                    pass  # keep serving with the last good secret; the next change is picked up
        return self._value


@dataclass(frozen=True, eq=False)
class Auth:
    """Credentials ``/metrics`` requires. Build with :meth:`basic` or :meth:`bearer`::

        Auth.basic(username="prometheus", password_env="METRICS_PASSWORD")
        Auth.bearer(token_file="/run/secrets/metrics-token")

    Missing or empty secrets are a :class:`~tocsin.errors.ConfigurationError` at
    start-up: there is never a default password.
    """

    scheme: str
    _username: bytes
    _secret: _Secret

    @classmethod
    def basic(
        cls,
        username: str,
        *,
        password_env: str | None = None,
        password_file: str | os.PathLike[str] | None = None,
    ) -> Auth:
        """HTTP Basic: ``username`` and a password from ``password_env`` or ``password_file``."""
        if not username or ":" in username:
            raise ConfigurationError("Auth.basic: username must be non-empty and contain no ':'")
        return cls("Basic", username.encode("utf-8"), _Secret("password", password_env, password_file))

    @classmethod
    def bearer(
        cls,
        *,
        token_env: str | None = None,
        token_file: str | os.PathLike[str] | None = None,
    ) -> Auth:
        """Bearer token (Prometheus ``authorization: {credentials_file: ...}``) from env or file."""
        return cls("Bearer", b"", _Secret("token", token_env, token_file))

    @property
    def challenge(self) -> str:
        """The ``WWW-Authenticate`` value sent with a 401."""
        if self.scheme == "Basic":
            return f'Basic realm="{_REALM}", charset="UTF-8"'
        return f'Bearer realm="{_REALM}"'

    def check(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header value carries the right credentials."""
        if not authorization:
            return False
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != self.scheme.lower():
            return False
        credentials = credentials.strip()
        secret = self._secret.get()
        if self.scheme == "Bearer":
            return hmac.compare_digest(credentials.encode("utf-8"), secret)
        try:
            decoded = base64.b64decode(credentials, validate=True)
        except (binascii.Error, ValueError):
            return False
        username, sep, password = decoded.partition(b":")
        # Both comparisons always run, so the time taken does not tell which part was wrong.
        user_ok = hmac.compare_digest(username, self._username)
        password_ok = hmac.compare_digest(password, secret)
        return bool(sep) and user_ok and password_ok

    def __repr__(self) -> str:  # never show the secret
        return f"Auth({self.scheme})"
