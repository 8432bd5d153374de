"""Resolve secret references to values; values are never logged or put in messages."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from gateways.config.common import SecretRef
from gateways.errors import GatewayError

SECRETS_DIR_VARIABLE = "GATEWAYS_SECRETS_DIR"
_DEFAULT_SECRETS_DIR = "/var/openfaas/secrets"  # where OpenFaaS mounts a function's secrets


class SecretNotFoundError(GatewayError):
    def __init__(self, ref: SecretRef, tried: list[str]) -> None:
        self.ref = ref
        super().__init__(f"{ref.describe()} not found (looked in {', '.join(tried)})")


class SecretEmptyError(GatewayError):
    def __init__(self, ref: SecretRef, where: str) -> None:
        self.ref = ref
        super().__init__(f"{ref.describe()} is empty ({where}); an empty secret is no secret")


def resolve(ref: SecretRef, env: Mapping[str, str] | None = None) -> str:
    """The secret's value, trailing newline stripped; never empty or only whitespace.

    Raises SecretNotFoundError or SecretEmptyError, naming where it looked, never the value.

    ``{env}`` and ``{file}`` are read as named. ``{name, key}`` is looked for as a mounted
    Secret (``$GATEWAYS_SECRETS_DIR/<name>/<key>``, then OpenFaaS's
    ``/var/openfaas/secrets/<name>``)
    and then as the variable ``<NAME>_<KEY>``.
    """
    value, where = _find(ref, os.environ if env is None else env)
    if not value.strip():
        raise SecretEmptyError(ref, where)
    return value


def _find(ref: SecretRef, env: Mapping[str, str]) -> tuple[str, str]:
    """The value and where it was found."""
    tried: list[str] = []
    if ref.env:
        if ref.env in env:
            return env[ref.env], f"${ref.env}"
        raise SecretNotFoundError(ref, [f"${ref.env}"])
    if ref.file:
        return _read(Path(ref.file), ref, [ref.file]), ref.file
    assert ref.name and ref.key
    candidates = []
    if env.get(SECRETS_DIR_VARIABLE):
        candidates.append(Path(env[SECRETS_DIR_VARIABLE]) / ref.name / ref.key)
    candidates.append(Path(_DEFAULT_SECRETS_DIR) / ref.name)
    for path in candidates:
        tried.append(str(path))
        if path.is_file():
            return _read(path, ref, tried), str(path)
    variable = re.sub(r"[^A-Z0-9]", "_", f"{ref.name}_{ref.key}".upper())
    tried.append(f"${variable}")
    if variable in env:
        return env[variable], f"${variable}"
    raise SecretNotFoundError(ref, tried)


def _read(path: Path, ref: SecretRef, tried: list[str]) -> str:
    try:
        return path.read_text().rstrip("\n")
    except OSError:
        raise SecretNotFoundError(ref, tried) from None
