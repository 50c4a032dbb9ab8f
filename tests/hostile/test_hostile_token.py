"""The access token: every route but `GET /` needs it, as Bearer or as the Basic password."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import requests
from aiohttp.test_utils import TestClient
from hostile_support import JSON_HEADERS, assert_api_error, disk_state, raw_http, staging_leftovers

from crayon_bridge.cli import TOKEN_ENV

TOKEN = "s3cr3t-T0ken"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def basic(user: str, password: str) -> dict[str, str]:
    """Return an HTTP Basic Authorization header."""
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


@pytest.fixture
async def guarded(make_client) -> TestClient:
    """A bridge started with TOKEN, holding experiment `base` with one scalar."""
    client = await make_client(token=TOKEN)
    resp = await client.post("/data", data='"base"', headers={**JSON_HEADERS, **BEARER})
    assert resp.status == 200, await resp.text()
    resp = await client.post("/data/scalars?xp=base&name=loss", data="[1, 0, 2]", headers=BEARER)
    assert resp.status == 200, await resp.text()
    return client


ROUTES = [
    ("GET", "/data", None),
    ("GET", "/data?xp=base", None),
    ("POST", "/data", '"new"'),
    ("DELETE", "/data?xp=base", None),
    ("GET", "/data/scalars?xp=base&name=loss", None),
    ("POST", "/data/scalars?xp=base&name=loss", "[2, 1, 3]"),
    ("GET", "/data/histograms?xp=base&name=h", None),
    ("POST", "/data/histograms?xp=base&name=h", "[2, 1, [1]]"),
    ("GET", "/backup?xp=base", None),
    ("POST", "/backup?xp=base&force=true", b"PK\x05\x06" + bytes(18)),
    ("GET", "/no/such/route", None),
    ("PUT", "/data", None),
]
ROUTE_IDS = [f"{method}-{path}" for method, path, _ in ROUTES]

BAD_CREDENTIALS = {
    "missing": ({}, "requires an access token"),
    "wrong-bearer": ({"Authorization": "Bearer nope"}, "token is wrong"),
    "empty-bearer": ({"Authorization": "Bearer "}, "token is wrong"),
    "prefix": ({"Authorization": f"Bearer {TOKEN[:-1]}"}, "token is wrong"),
    "longer": ({"Authorization": f"Bearer {TOKEN}x"}, "token is wrong"),
    "bare-token": ({"Authorization": TOKEN}, "neither Bearer nor Basic"),
    "other-scheme": ({"Authorization": f"Token {TOKEN}"}, "neither Bearer nor Basic"),
    "basic-token-as-user": (basic(TOKEN, ""), "token is wrong"),
    "basic-no-colon": (
        {"Authorization": "Basic " + base64.b64encode(TOKEN.encode()).decode()},
        "token is wrong",
    ),
    "basic-not-base64": ({"Authorization": "Basic ***"}, "not valid base64"),
    "basic-wrong": (basic("x", "nope"), "token is wrong"),
    "basic-latin1": (
        {"Authorization": "Basic " + base64.b64encode(b"x:\xff\xfe").decode()},
        "token is wrong",
    ),
}


@pytest.mark.parametrize("method,path,body", ROUTES, ids=ROUTE_IDS)
async def test_every_route_but_version_needs_the_token(
    guarded: TestClient, logdir: Path, method: str, path: str, body: str | bytes | None
) -> None:
    """Without the token every route answers 401 with a challenge, and nothing changes."""
    before = disk_state(logdir)
    resp = await guarded.request(method, path, data=body)
    text = await assert_api_error(resp, 401, "access token", "Bearer")
    assert "Bearer" in resp.headers["WWW-Authenticate"]
    assert "Basic" in resp.headers["WWW-Authenticate"]
    assert TOKEN not in text
    assert disk_state(logdir) == before
    assert staging_leftovers(logdir) == []


@pytest.mark.parametrize(
    "headers,fragment", BAD_CREDENTIALS.values(), ids=list(BAD_CREDENTIALS.keys())
)
async def test_bad_credentials_are_refused(
    guarded: TestClient, headers: dict[str, str], fragment: str
) -> None:
    """A wrong or malformed token (one in the query is none) is a 401 saying what to send."""
    resp = await guarded.get(f"/data?token={TOKEN}", headers=headers)
    text = await assert_api_error(resp, 401, fragment)
    assert TOKEN not in text


@pytest.mark.parametrize(
    "headers",
    [
        BEARER,
        {"Authorization": f"bearer {TOKEN}"},
        {"Authorization": f"  Bearer   {TOKEN}  "},
        basic("x", TOKEN),
        basic("", TOKEN),
        {"Authorization": basic("x", TOKEN)["Authorization"].replace("Basic", "BASIC")},
    ],
    ids=["bearer", "lowercase-scheme", "extra-spaces", "basic", "basic-empty-user", "BASIC"],
)
async def test_good_credentials_are_accepted(guarded: TestClient, headers: dict[str, str]) -> None:
    """The token is accepted as Bearer or as the Basic password, schemes in any case."""
    resp = await guarded.get("/data", headers=headers)
    assert resp.status == 200, await resp.text()
    assert await resp.json() == ["base"]


async def test_version_needs_no_token(guarded: TestClient) -> None:
    """`GET /` (and HEAD) stays open: stock clients check it before anything else."""
    resp = await guarded.get("/")
    assert resp.status == 200 and await resp.text() == "0.5"
    resp = await guarded.head("/")
    assert resp.status == 200


async def test_token_with_colon_and_unicode(make_client) -> None:
    """A token may hold ':' and non-ASCII characters, in Bearer and in Basic."""
    token = "a:b:ç€"
    client = await make_client(token=token)
    encoded = base64.b64encode(f"user:{token}".encode()).decode()
    resp = await client.get("/data", headers={"Authorization": f"Basic {encoded}"})
    assert resp.status == 200, await resp.text()


@pytest.mark.parametrize(
    "header",
    [b"Bearer \xff\xfe", b"Bearer s3cr3t-T0ken\xff", b"Basic \xff", b"\xff\xff"],
    ids=["bearer-bytes", "token-then-byte", "basic-bytes", "only-bytes"],
)
async def test_non_utf8_authorization_header_is_a_401(guarded: TestClient, header: bytes) -> None:
    """Header bytes that are not UTF-8 are a wrong token (401), never a 500."""
    request = (
        b"GET /data HTTP/1.1\r\nHost: x\r\nAuthorization: "
        + header
        + b"\r\nConnection: close\r\n\r\n"
    )
    status, body = await raw_http(guarded, request)
    assert status == 401, body


@pytest.mark.e2e
def test_stock_pycrayon_carries_the_token_in_its_url(server_factory) -> None:
    """pycrayon 0.5 works with `http://user:TOKEN@host`, and fails clearly without it."""
    from pycrayon import CrayonClient

    server = server_factory("--token", TOKEN)
    client = CrayonClient(hostname=f"http://x:{TOKEN}@127.0.0.1", port=server.port)
    experiment = client.create_experiment("guarded run")
    experiment.add_scalar_value("loss", 0.5, wall_time=1.0, step=0)
    experiment.add_histogram_value("w", [1.0, 2.0], tobuild=True, wall_time=1.0, step=0)
    assert experiment.get_scalar_values("loss") == [[1.0, 0, 0.5]]
    assert client.get_experiment_names() == ["guarded run"]

    anonymous = CrayonClient(hostname="http://127.0.0.1", port=server.port)  # GET / is open
    with pytest.raises(ValueError, match="access token"):
        anonymous.get_experiment_names()
    with pytest.raises(ValueError, match="token is wrong"):
        CrayonClient(hostname="http://x:nope@127.0.0.1", port=server.port).create_experiment("x")
    assert client.get_experiment_names() == ["guarded run"]


@pytest.mark.e2e
def test_token_from_the_environment(server_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    """`$CRAYON_BRIDGE_TOKEN` sets the token when `--token` is not given."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    server = server_factory()
    assert requests.get(server.url + "/data", timeout=10).status_code == 401
    resp = requests.get(server.url + "/data", headers=BEARER, timeout=10)
    assert resp.status_code == 200 and resp.json() == []


@pytest.mark.e2e
@pytest.mark.parametrize(
    "args,warned",
    [
        (("--host", "0.0.0.0"), True),
        (("--host", "0.0.0.0", "--token", TOKEN), False),
        (("--host", "127.0.0.1"), False),
    ],
    ids=["all-interfaces-no-token", "all-interfaces-token", "loopback"],
)
def test_warning_when_listening_beyond_loopback_without_token(
    server_factory, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], warned: bool
) -> None:
    """Binding to a non-loopback address without a token prints a clear warning."""
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    server = server_factory(*args)
    assert ("without an access token" in server.output) is warned, server.output
    if warned:
        assert "0.0.0.0" in server.output and "--token" in server.output
