"""The secrets a spec references, named once for compose mounts and Kubernetes Secret keys.

Secrets are files (``*_file``) read by Prometheus or Alertmanager, plus webhook
URLs given as ``url_env``. Compose mounts each file read-only at its own path
(the compiled configs name that path); Kubernetes manifests point at keys of one
Secret per app, created from the same files by ``deploy/kubernetes/create-secret.sh``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tocsin.spec import Spec
from tocsin.spec._validate import secret_paths

__all__ = ["SecretFile", "secret_files", "secret_key", "secret_name"]


@dataclass(frozen=True)
class SecretFile:
    """One secret file: who reads it, where it is, and its key in the Kubernetes Secret."""

    component: str  # "prometheus" or "alertmanager"
    path: str
    key: str
    field: tuple[str | int, ...]


def secret_name(spec: Spec) -> str:
    """The Kubernetes Secret holding every secret of the app."""
    return f"{spec.app}-secrets".lower().replace("_", "-").replace(".", "-")


def secret_key(*parts: str | int) -> str:
    """Key in the Secret for the spec field at ``parts`` (``receivers, oncall, email, auth_password_file``
    → ``receivers-oncall-email-auth-password``): unique because spec paths are."""
    text = "-".join(str(p) for p in parts).removesuffix("_file")
    return text.replace("_", "-").lower()


def secret_files(spec: Spec) -> list[SecretFile]:
    """Every ``*_file`` secret of the spec, in spec order."""
    return [
        SecretFile(
            component="alertmanager" if field[0] == "receivers" else "prometheus",
            path=path,
            key=secret_key(*field),
            field=field,
        )
        for field, path in secret_paths(spec)
    ]
