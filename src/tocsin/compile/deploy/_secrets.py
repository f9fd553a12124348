"""The secrets a spec references, named once for compose mounts and Kubernetes Secret keys.

Secrets are files (``*_file``) read by Prometheus or Alertmanager, variables
(``*_env``, written to a file by ``tocsin up``: compose takes them from the
environment, Kubernetes from the Secret), plus webhook URLs given as ``url_env``.
Compose mounts each file read-only at its own path (the compiled configs name that
path); Kubernetes manifests point at keys of one Secret per app, created from the same
files by ``deploy/kubernetes/create-secret.sh``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tocsin.compile.secrets import default_secrets_dir, env_secrets, secret_key
from tocsin.spec import Spec, secret_paths

__all__ = ["SecretFile", "secret_files", "secret_key", "secret_name"]


@dataclass(frozen=True)
class SecretFile:
    """One secret file: who reads it, where it is, its key in the Kubernetes Secret, and, for a
    ``*_env`` secret, the variable ``tocsin up`` writes it from (then ``field`` names the ``*_file``
    field Alertmanager reads it with)."""

    component: str  # "prometheus" or "alertmanager"
    path: str
    key: str
    field: tuple[str | int, ...]
    env: str | None = None


def secret_name(spec: Spec) -> str:
    """The Kubernetes Secret holding every secret of the app."""
    return f"{spec.app}-secrets".lower().replace("_", "-").replace(".", "-")


def secret_files(spec: Spec) -> list[SecretFile]:
    """Every ``*_file`` secret of the spec in spec order, then every ``*_env`` one."""
    files = [
        SecretFile(
            component="alertmanager" if field[0] == "receivers" else "prometheus",
            path=path,
            key=secret_key(*field),
            field=field,
        )
        for field, path in secret_paths(spec)
    ]
    directory = default_secrets_dir(spec)
    files += [
        SecretFile("alertmanager", str(directory / s.key), s.key, (*s.loc[:-1], s.file_field), s.variable)
        for s in env_secrets(spec)
    ]
    return files
