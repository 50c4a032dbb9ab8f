"""The HTTP layer shared by the clients: URLs, tokens, quoting, keep-alive across restarts."""

from __future__ import annotations

import pytest

from crayon_bridge.client import CrayonClient, CrayonConnectionError
from crayon_bridge.client._http import Endpoint, HttpSession, parse_url, target


@pytest.mark.parametrize(
    ("url", "token", "expected"),
    [
        ("http://127.0.0.1:8889", None, Endpoint("http", "127.0.0.1", 8889, "", None)),
        ("localhost:9000", None, Endpoint("http", "localhost", 9000, "", None)),
        ("https://bridge.example/", None, Endpoint("https", "bridge.example", 443, "", None)),
        (
            "http://me:s%40cret@host:1/crayon/",
            None,
            Endpoint("http", "host", 1, "/crayon", "s@cret"),
        ),
        ("http://tok@host:1", None, Endpoint("http", "host", 1, "", "tok")),
        ("http://me:url@host:1", "argument", Endpoint("http", "host", 1, "", "argument")),
        ("http://[::1]:8889", None, Endpoint("http", "::1", 8889, "", None)),
    ],
)
def test_parse_url(url, token, expected):
    assert parse_url(url, token) == expected


@pytest.mark.parametrize("url", ["", "ftp://host", "http://host:notaport", "http://:80"])
def test_parse_url_refuses_what_is_not_a_bridge_url(url):
    with pytest.raises(ValueError, match="URL"):
        parse_url(url)


def test_endpoint_url_hides_the_token():
    assert parse_url("http://me:secret@host:5/p").url == "http://host:5/p"


def test_query_values_are_percent_encoded():
    params = {"xp": "a+b & c/é", "name": "x=1?#", "tobuild": True}
    assert target("/data", params) == (
        "/data?xp=a%2Bb%20%26%20c%2F%C3%A9&name=x%3D1%3F%23&tobuild=true"
    )


def test_connection_refused_is_a_connection_error_and_a_value_error():
    session = HttpSession("http://127.0.0.1:1", connect_timeout=1)
    with pytest.raises(CrayonConnectionError, match="cannot connect") as info:
        session.request("GET", "/")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, ConnectionError)
    assert not info.value.maybe_sent


@pytest.mark.e2e
def test_a_keep_alive_client_survives_a_bridge_restart(live_server):
    client = CrayonClient("127.0.0.1", live_server.port)
    xp = client.create_experiment("restart")
    xp.add_scalar_value("x", 1.0, wall_time=1.0)
    live_server.restart()  # the bridge closes the idle keep-alive connection
    xp.add_scalar_value("x", 2.0, wall_time=2.0)
    assert xp.get_scalar_values("x") == [[1.0, 0, 1.0], [2.0, 1, 2.0]]
    live_server.stop()
    with pytest.raises(CrayonConnectionError, match="cannot connect"):
        xp.add_scalar_value("x", 3.0)
