"""The Chalice stages and the prod IAM policy: no secrets, nothing beyond what the app calls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.settings import Settings
from tests.conftest import ROOT

CHALICE = ROOT / ".chalice"
CONFIG: dict[str, Any] = json.loads((CHALICE / "config.json").read_text())
PROD = CONFIG["stages"]["prod"]
POLICY: dict[str, Any] = json.loads((CHALICE / PROD["iam_policy_file"]).read_text())
SECRET_NAMES = {"JWT_SECRET", "MONGODB_URI", "IMAGEKIT_PRIVATE_KEY"}
# Every AWS call the app makes on Lambda. A new call belongs here and in the policy.
EXPECTED_ACTIONS = {
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "ssm:GetParametersByPath",
    "kms:Decrypt",
    "ses:SendEmail",
    "ses:SendRawEmail",
}


def stage_environment(stage: str) -> dict[str, str]:
    return {
        **CONFIG.get("environment_variables", {}),
        **CONFIG["stages"][stage].get("environment_variables", {}),
    }


def statements() -> list[dict[str, Any]]:
    return list(POLICY["Statement"])


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_no_stage_carries_a_secret(stage: str) -> None:
    assert not SECRET_NAMES & set(stage_environment(stage))


def test_prod_reads_its_secrets_from_the_parameter_store_and_then_is_a_valid_prod() -> None:
    env = stage_environment("prod")
    assert env["SECRETS_PARAMETER_PATH"] == "/snapboard/prod"
    # What the operator stores under the path (docs/deploy.md) completes it.
    stored = {
        "JWT_SECRET": "x" * 48,
        "MONGODB_URI": "mongodb+srv://app:pw@cluster0.example.mongodb.net/",
        "IMAGEKIT_PRIVATE_KEY": "private_x",
        "IMAGEKIT_PUBLIC_KEY": "public_x",
        "IMAGEKIT_URL_ENDPOINT": "https://ik.imagekit.io/snapboard",
        "CORS_ORIGINS": "https://snapboard.example",
        "FRONTEND_URL": "https://snapboard.example",
        "MAIL_FROM": "no-reply@snapboard.example",
    }
    settings = Settings.from_env({**env, **stored})
    assert (settings.stage, settings.image_store, settings.mail_backend) == (
        "prod",
        "imagekit",
        "ses",
    )


def test_prod_runs_on_its_own_policy_file_not_on_chalices_guess() -> None:
    assert PROD["autogen_policy"] is False
    assert (CHALICE / PROD["iam_policy_file"]).is_file()
    assert PROD["api_gateway_endpoint_type"] == "REGIONAL"
    assert PROD["lambda_timeout"] <= 29, "API Gateway gives up on an integration at 29 s"
    assert PROD["tags"]["stage"] == "prod"


def test_the_policy_allows_exactly_the_calls_the_app_makes() -> None:
    assert all(statement["Effect"] == "Allow" for statement in statements())
    actions = {action for s in statements() for action in as_list(s["Action"])}
    assert actions == EXPECTED_ACTIONS


def test_no_action_or_resource_is_a_wildcard() -> None:
    for statement in statements():
        assert "NotAction" not in statement
        assert "NotResource" not in statement
        for action in as_list(statement["Action"]):
            assert "*" not in action, action
        for resource in as_list(statement["Resource"]):
            assert resource != "*"
            assert resource.startswith("arn:aws:"), resource
            # A wildcard may stand for region, account or a name suffix, never the service.
            assert resource.split(":")[2] in {"logs", "ssm", "kms", "ses"}, resource


def test_parameters_are_readable_only_under_the_stage_path() -> None:
    path = stage_environment("prod")["SECRETS_PARAMETER_PATH"]
    [ssm] = [s for s in statements() if "ssm:GetParametersByPath" in as_list(s["Action"])]
    assert set(as_list(ssm["Resource"])) == {
        f"arn:aws:ssm:*:*:parameter{path}",
        f"arn:aws:ssm:*:*:parameter{path}/*",
    }


def test_decryption_is_allowed_only_through_ssm_for_those_parameters() -> None:
    path = stage_environment("prod")["SECRETS_PARAMETER_PATH"]
    [kms] = [s for s in statements() if "kms:Decrypt" in as_list(s["Action"])]
    condition = kms["Condition"]["StringLike"]
    assert condition["kms:ViaService"] == "ssm.*.amazonaws.com"
    assert condition["kms:EncryptionContext:PARAMETER_ARN"] == f"arn:aws:ssm:*:*:parameter{path}/*"


def test_logs_are_writable_only_to_the_stages_own_log_groups() -> None:
    [logs] = [s for s in statements() if "logs:PutLogEvents" in as_list(s["Action"])]
    prefix = f"arn:aws:logs:*:*:log-group:/aws/lambda/{CONFIG['app_name']}-prod"
    assert all(resource.startswith(prefix) for resource in as_list(logs["Resource"]))
