"""ec2/cloudformation.yaml read as data, and its user data rendered as a host would run it."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import yaml

from tests.conftest import ROOT

TEMPLATE = ROOT / "ec2" / "cloudformation.yaml"
REGION = "eu-west-1"


class _Loader(yaml.SafeLoader):
    """Reads CloudFormation's short tags (`!Ref x`) as `{"Ref": x}`-style dicts."""


def _tag(loader: _Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_Loader.add_multi_constructor("!", _tag)


@cache
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_Loader)  # noqa: S506 (SafeLoader subclass)
    return loaded


def parameter_defaults() -> dict[str, str]:
    return {name: str(p.get("Default", "")) for name, p in template()["Parameters"].items()}


def user_data(**parameters: str) -> str:
    """The launch template's user data with its `${...}` filled in as CloudFormation would."""
    data = template()["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    body, variables = data["UserData"]["Fn::Base64"]["Fn::Sub"]
    edge = "alb" if parameters.get("UseLoadBalancer") == "true" else "instance"
    assert variables == {"Edge": {"Fn::If": ["UseAlb", "alb", "instance"]}}
    values = {
        "Edge": edge,
        **parameter_defaults(),
        "AWS::Region": REGION,
        "AWS::StackName": "snapboard-ec2",
        "AWS::AccountId": "123456789012",
        "AWS::Partition": "aws",
        "ArtifactBucket": "snapboard-ec2-artifactbucket-abc",
        **parameters,
    }

    def fill(match: re.Match[str]) -> str:
        return str(values[match[1]])

    return re.sub(r"\$\{([\w:]+)\}", fill, str(body))


def env_file(**parameters: str) -> dict[str, str]:
    """What user data writes to /etc/snapboard/env, as systemd's EnvironmentFile reads it."""
    script = user_data(**parameters)
    [body] = re.findall(r"/etc/snapboard/env <<'ENV'\n(.*?)\nENV\n", script, re.S)
    lines = [line for line in body.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)
