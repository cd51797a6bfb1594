"""docs/deploy.md's Vercel settings say what frontend/ actually builds with."""

from __future__ import annotations

import json
import re

from tests.conftest import ROOT

DOCS = (ROOT / "docs" / "deploy.md").read_text()


def setting(name: str) -> str:
    [value] = re.findall(rf"^\| {re.escape(name)} \| `([^`]+)`", DOCS, re.M)
    return str(value)


def test_the_vercel_project_settings_match_frontend_vercel_json() -> None:
    vercel = json.loads((ROOT / "frontend" / "vercel.json").read_text())
    assert (ROOT / setting("Root Directory") / "vercel.json").exists()
    assert setting("Build Command") == vercel["buildCommand"]
    assert setting("Output Directory") == vercel["outputDirectory"]
    assert vercel["framework"] == "vite"
    package = json.loads((ROOT / "frontend" / "package.json").read_text())
    assert setting("Install Command").startswith("npm ci")
    assert package["engines"]["node"].startswith(">=20")


def test_the_runbook_names_only_files_that_exist() -> None:
    for path in set(
        re.findall(r"`((?:ec2|frontend|\.github/workflows|\.chalice)/[\w./-]+)`", DOCS)
    ):
        if path == ".chalice/deployed/":
            continue  # named as what `chalice deploy` would write, outside git
        assert (ROOT / path).exists(), path


def test_both_targets_set_the_refresh_cookie_on_the_path_the_vercel_rewrite_serves() -> None:
    from tests.ec2.template import env_file

    vercel = json.loads((ROOT / "frontend" / "vercel.json").read_text())
    [api] = [r["source"] for r in vercel["rewrites"] if r["destination"].startswith("$BACKEND")]
    # The browser sees /api/auth/refresh; the API's route is /auth/refresh.
    browser_path = api.removesuffix("/:path*") + "/auth"
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    lambda_env = config["stages"]["prod"]["environment_variables"]
    assert lambda_env["AUTH_COOKIE_PATH"] == browser_path
    assert env_file()["AUTH_COOKIE_PATH"] == browser_path
