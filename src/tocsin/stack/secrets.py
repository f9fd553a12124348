"""Private files in the state dir: the secrets ``tocsin up`` writes for Alertmanager, and the configs.

The state dir is made 0700 and every file ``tocsin up`` writes with a secret in it is 0600: a webhook
URL from ``url_env`` sits inline in ``alertmanager.yml`` (Alertmanager 0.25 has no ``url_file``), and
``*_env`` secrets (``auth_password_env``, ``api_url_env``) are written from the environment to
``<state dir>/secrets/<key>``, which the compiled config names (see :mod:`tocsin.compile.secrets`).
Every Prometheus and Alertmanager the stack runs is the same user, so nothing else needs to read them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["private_dir", "write_private", "write_secrets"]


def private_dir(path: Path) -> Path:
    """``path`` created if needed and made 0700 (owner only)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def write_private(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` as 0600, atomically (temp + fsync + rename): never half a secret."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_secrets(directory: Path, values: Mapping[str, str]) -> None:
    """Make ``directory`` hold exactly ``values`` (file name -> secret), each file 0600, the dir 0700.

    A secret the spec no longer names is deleted: a removed receiver's password does not linger.
    """
    if not values and not directory.exists():
        return  # nothing to write, nothing to drop: leave the state dir to the stack's own checks
    private_dir(directory.parent)
    private_dir(directory)
    for key, value in values.items():
        write_private(directory / key, value)
    for stale in directory.iterdir():
        if stale.name not in values and not stale.name.startswith("."):
            stale.unlink(missing_ok=True)
