"""Generated input for the media routes, which the OpenAPI fuzz never sees: never a 5xx.

``/media/...`` and ``/media/upload`` stand in for ImageKit's delivery and upload
endpoints, so they are left out of the API description that ``tests/test_fuzz.py``
generates requests from. Their inputs are the most hostile the app takes (a
transformation language, signatures, a multipart form), so here Hypothesis
writes them from their grammar, with any text mixed in, on both runtimes.
Bounded in examples.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.images.local import PUBLIC_KEY
from tests.images.conftest import make_image
from tests.images.test_routes import SignIn, media_path, multipart, principal, upload
from tests.support import Http

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)  # URLs are UTF-8
# What once got past str.isdigit(), int() or hmac.compare_digest: "²", Arabic-Indic digits,
# "é", and numbers of thousands of digits.
TRICKY = st.sampled_from(
    ["", "-1", "²", "١٢", "é" * 40, "0x10", " 1", "1e3", "\x00", "9" * 5000, "0" * 5000 + "1"]
)
NUMBER = st.integers(-10, 2**40).map(str) | TRICKY | ANY_TEXT
STEP = st.builds(
    "{}-{}".format,
    st.sampled_from(["w", "h", "q", "f", "c", "ar", "bl", "rt", "zz"]),
    NUMBER | st.sampled_from(["auto", "webp", "png", "at_max", "force", "maintain_ratio", "4-3"]),
)
TRANSFORMATION = (
    st.lists(st.lists(STEP, min_size=1, max_size=3).map(",".join), min_size=1, max_size=6).map(
        ":".join
    )
    | ANY_TEXT
)
SIGNATURE = st.text("0123456789abcdef", min_size=40, max_size=40) | TRICKY | ANY_TEXT
QUERY = st.fixed_dictionaries(
    {}, optional={"tr": TRANSFORMATION, "ik-t": NUMBER, "ik-s": SIGNATURE, "other": ANY_TEXT}
)
FORM = st.fixed_dictionaries(
    {},
    optional={
        "fileName": ANY_TEXT,
        "folder": st.sampled_from(["/snapboard/users/u1", "/", "../x"]) | ANY_TEXT,
        "token": ANY_TEXT,
        "expire": NUMBER,
        "signature": SIGNATURE,
        "publicKey": st.just(PUBLIC_KEY) | ANY_TEXT,
    },
)


@pytest.fixture
def image_path(client: Http, sign_in: SignIn) -> str:
    """One stored photo, which every example asks for in its own way."""
    image = upload(client, sign_in(principal())).json
    return media_path(image["url"]).split("?")[0]


HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60)
HEADERS = st.fixed_dictionaries(
    {"Accept": st.sampled_from(["image/*,*/*;q=0.8", "image/webp,*/*", "*/*"]) | HEADER_TEXT},
    optional={"If-None-Match": st.sampled_from(['"abc"', "*", 'W/"x", "y"']) | HEADER_TEXT},
)


@FUZZ
@given(query=QUERY, path_tr=st.none() | TRANSFORMATION, headers=HEADERS)
def test_media_delivery_never_fails_on_what_a_url_carries(
    client: Http,
    image_path: str,
    query: dict[str, str],
    path_tr: str | None,
    headers: dict[str, str],
) -> None:
    segments = image_path.split("/")
    if path_tr is not None:
        segments.insert(2, "tr:" + quote(path_tr, safe=",:"))
    url = "/".join(segments) + ("?" + urlencode(query) if query else "")
    reply = client.get(url, headers=headers)
    # Chalice answers 400 itself when Accept names no image type: not a server error either.
    assert reply.status < 500, (url, headers, reply.body[:300])


@FUZZ
@given(fields=FORM)
def test_a_direct_upload_never_fails_on_its_form_fields(
    client: Http, fields: dict[str, str]
) -> None:
    body, content_type = multipart({"file": make_image(), **fields})
    reply = client.post("/media/upload", body=body, headers={"Content-Type": content_type})
    assert reply.status < 500, (fields, reply.body[:300])


SIGNED_FORM = st.fixed_dictionaries(
    {
        "fileName": ANY_TEXT
        | st.sampled_from(["../x.png", "..", "....//x.jpg", "a." + "x" * 300, ".", "/"]),
    },
    optional={"extra": ANY_TEXT, "useUniqueFileName": ANY_TEXT, "tags": ANY_TEXT},
)
CONTENT = (
    st.sampled_from([b"", b"<svg/>", b"<html></html>"])
    | st.binary(max_size=64)
    | st.just(make_image())
)


@FUZZ
@given(fields=SIGNED_FORM, data=CONTENT)
def test_a_signed_direct_upload_is_stored_or_refused_naming_a_field(
    client: Http, sign_in: SignIn, fields: dict[str, str], data: bytes
) -> None:
    auth = client.get("/images/upload-auth", headers=sign_in(principal())).json
    signed = {
        "folder": auth["folder"],
        "token": auth["token"],
        "expire": str(auth["expire"]),
        "signature": auth["signature"],
        "publicKey": auth["public_key"],
    }
    body, content_type = multipart({"file": data, **signed, **fields})
    reply = client.post("/media/upload", body=body, headers={"Content-Type": content_type})
    assert reply.status in (200, 422), (fields, reply.body[:300])
    if reply.status == 422:
        assert {e["field"] for e in reply.problem["errors"]} <= {"file", "fileName"}
    else:
        assert reply.json["filePath"].startswith(auth["folder"] + "/")
