"""Secrets given as environment variables (``*_env``): the file Alertmanager reads each one from.

Alertmanager reads a password or a Slack URL from a file (``auth_password_file``, ``api_url_file``).
A spec may name an environment variable instead (``auth_password_env: SMTP_PASSWORD``, as seed 000's
``${SMTP_PASSWORD}``): the compiled ``alertmanager.yml`` then points at ``<state dir>/secrets/<key>``,
and ``tocsin up`` / ``tocsin reload`` write that file from the environment (mode 0600 in a 0700
directory, see :func:`tocsin.stack.secrets.write_secrets`). The value is never written into a config.

A webhook URL (``url_env``) is the exception: Alertmanager 0.25 has no ``url_file``, so the URL is
inline in ``alertmanager.yml``, which is then written 0600 — and Alertmanager's own status API
(``/api/v2/status``) shows it, as it shows every non-``<secret>`` field of its config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tocsin.errors import SpecError
from tocsin.spec import Spec, secret_envs, spec_problem

__all__ = ["SECRETS_DIR", "EnvSecret", "default_secrets_dir", "env_secrets", "secret_key", "secret_values"]

#: The directory under the state dir that holds the files written from ``*_env`` secrets.
SECRETS_DIR = "secrets"


def secret_key(*parts: str | int) -> str:
    """Key for the spec field at ``parts`` (``receivers, oncall, email, auth_password_file`` →
    ``receivers-oncall-email-auth-password``): unique because spec paths are. Kubernetes Secret keys
    and the file names under ``secrets/`` both use it."""
    text = "-".join(str(p) for p in parts).removesuffix("_file").removesuffix("_env")
    return text.replace("_", "-").lower()


@dataclass(frozen=True)
class EnvSecret:
    """One ``*_env`` secret: where it is in the spec, its variable, its key, the field that reads it."""

    loc: tuple[str | int, ...]
    variable: str
    key: str
    file_field: str  # the Alertmanager field pointed at the file: auth_password_file, api_url_file


def default_secrets_dir(spec: Spec) -> Path:
    """``<spec dir>/<stack.state_dir>/secrets``: where ``tocsin up`` writes them (unless ``--state-dir``)."""
    base = Path(spec.source).resolve().parent if spec.source else Path.cwd()
    return base / spec.stack.state_dir / SECRETS_DIR


def env_secrets(spec: Spec) -> list[EnvSecret]:
    return [
        EnvSecret(loc, variable, secret_key(*loc), str(loc[-1]).removesuffix("_env") + "_file")
        for loc, variable in secret_envs(spec)
    ]


def secret_values(spec: Spec, env: Mapping[str, str]) -> dict[str, str]:
    """``key -> value`` for every ``*_env`` secret; SpecError naming each unset variable at its line."""
    values, problems = {}, []
    for secret in env_secrets(spec):
        value = env.get(secret.variable)
        if not value:
            hint = "export it, then run tocsin up again"
            problems.append(spec_problem(spec, secret.loc, f"${secret.variable} is not set", hint))
        else:
            values[secret.key] = value
    if problems:
        raise SpecError(problems)
    return values
