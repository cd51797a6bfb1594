"""Secrets from SSM Parameter Store, read once per process before the settings.

With ``SECRETS_PARAMETER_PATH=/snapboard/prod`` every SecureString under that
path (recursively) fills the environment variable named by its last path
segment: ``/snapboard/prod/JWT_SECRET`` becomes ``JWT_SECRET``. Values read from
the Parameter Store win over the environment, which holds no secrets.

Any failure stops the process from serving: an unreadable path, a parameter
name that is not a setting, or a path without SecureStrings raises
``SecretsUnavailable`` (a ``ConfigError``, so it is reported like any other
bad configuration). Falling back to the defaults would start production with
a random signing key. Values are never logged; names and paths are.

boto3 is imported only when a path is set: Lambda ships it, and nothing else
needs it at start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib import logs
from chalicelib.errors import ConfigError
from chalicelib.settings import ENV_VARS

PATH_VARIABLE = "SECRETS_PARAMETER_PATH"

log = logs.get_logger("secrets")


class SecretsUnavailable(ConfigError):
    """The Parameter Store path is set but its secrets could not be loaded."""


def environment_with_secrets(
    env: Mapping[str, str], *, ssm_client: Any | None = None
) -> Mapping[str, str]:
    """``env`` with the secrets under ``SECRETS_PARAMETER_PATH`` laid over it.

    Without the variable this returns ``env`` itself and touches nothing.
    """
    path = env.get(PATH_VARIABLE, "").strip()
    if not path:
        return env
    try:
        secrets = load_secrets(path, ssm_client=ssm_client)
    except SecretsUnavailable as exc:
        log.error({"event": "secrets_unavailable", "path": path, "problems": exc.problems})
        raise
    log.info({"event": "secrets_loaded", "path": path, "names": sorted(secrets)})
    return {**env, **secrets}


def load_secrets(path: str, *, ssm_client: Any | None = None) -> dict[str, str]:
    """Every SecureString under ``path``, decrypted, keyed by its last path segment."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client = ssm_client if ssm_client is not None else _ssm_client()
        parameters = [
            parameter
            for page in client.get_paginator("get_parameters_by_path").paginate(
                Path=path, Recursive=True, WithDecryption=True
            )
            for parameter in page["Parameters"]
        ]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        problem = f"{PATH_VARIABLE}={path}: SSM refused the read ({code})"
        raise SecretsUnavailable([problem]) from None
    except BotoCoreError as exc:
        # botocore's messages name the endpoint or the missing credentials, never a value.
        raise SecretsUnavailable([f"{PATH_VARIABLE}={path}: SSM unreachable ({exc})"]) from None
    return _by_setting_name(path, parameters)


def _by_setting_name(path: str, parameters: list[dict[str, Any]]) -> dict[str, str]:
    secrets: dict[str, str] = {}
    problems: list[str] = []
    for parameter in parameters:
        full_name = str(parameter["Name"])
        if parameter.get("Type") != "SecureString":
            # A plain String is stored unencrypted and readable without any KMS
            # grant: a secret there is a mistake worth stopping for.
            problems.append(f"{full_name} is a {parameter.get('Type')}; store it as a SecureString")
            continue
        name = full_name.rsplit("/", 1)[-1]
        if name not in ENV_VARS or name == PATH_VARIABLE:
            problems.append(f"{full_name} does not name a setting ({name} is unknown)")
        elif name in secrets:
            problems.append(f"{full_name}: {name} is set more than once under {path}")
        else:
            secrets[name] = str(parameter["Value"])
    if not parameters:
        problems.append(f"{PATH_VARIABLE}={path}: no parameters under this path")
    if problems:
        raise SecretsUnavailable(problems)
    return secrets


def _ssm_client() -> Any:
    import boto3

    return boto3.client("ssm")
