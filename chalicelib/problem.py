"""The documented shape of every error body (RFC 9457 problem details).

``wire.problem_response`` writes the bodies without pydantic, so that an error
answer loads no model; the OpenAPI document describes them with these models,
and tests/test_wire.py checks every body ``wire`` writes against them.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from chalicelib.model import Model


class ProblemField(Model):
    field: str = Field(description="Dotted path of the failing input, as the client sent it.")
    message: str


class Problem(Model):
    """RFC 9457 problem details, the body of every error response."""

    model_config = ConfigDict(title="Problem")

    type: str = Field(description="A URI naming the problem type (urn:snapboard:problem:<code>).")
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable code; branch on this, not on text.")
    errors: list[ProblemField] | None = Field(
        default=None, description="Each failing field (422 only)."
    )
