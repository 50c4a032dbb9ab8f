"""The input contract's building blocks, called directly: query strings, echoing, name rules."""

from __future__ import annotations

import time

import pytest

from crayon_bridge.errors import BadRequest, PayloadTooLarge, clip
from crayon_bridge.names import check_experiment_name, check_metric_name
from crayon_bridge.params import optional_query, parse_count, parse_query, require_query


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "xp=base",
        "xp=my+run&name=train%2Floss",
        "xp=%C3%A9t%C3%A9&name=%F0%9F%94%A5",
        "xp=%EF%BF%BD",  # U+FFFD sent on purpose, as valid UTF-8
        "xp=100%25&force",
        "xp=%zz&&name=",
    ],
    ids=["empty", "plain", "plus-and-slash", "unicode", "replacement-char", "flag", "odd-escapes"],
)
def test_query_strings_that_read_one_way(raw: str) -> None:
    """Valid UTF-8, plus signs, bare flags and stray percent signs are accepted."""
    parse_query(raw)


def test_query_strings_are_decoded_as_forms_are() -> None:
    """Percent-escapes are UTF-8, `+` is a space, a bare flag is an empty value."""
    assert dict(parse_query("xp=my+run&name=train%2Floss%20%C3%A9&force")) == {
        "xp": "my run",
        "name": "train/loss é",
        "force": "",
    }


@pytest.mark.parametrize(
    "raw,fragment",
    [
        ("xp=%FF", "not valid UTF-8"),
        ("xp=a%C3", "not valid UTF-8"),
        ("xp=%ED%A0%80", "not valid UTF-8"),
        ("xp=%C0%AF", "not valid UTF-8"),
        ("%FF=1", "not valid UTF-8"),
        ("xp=a&xp=b", "more than once"),
        ("xp=a&x%70=b", "more than once"),
        ("force=false&force=true", "more than once"),
    ],
    ids=[
        "ff",
        "truncated",
        "surrogate",
        "overlong-slash",
        "key",
        "repeat",
        "encoded-repeat",
        "flag",
    ],
)
def test_query_strings_that_are_refused(raw: str, fragment: str) -> None:
    """Invalid UTF-8 (which aiohttp would turn into U+FFFD) and repeats are refused."""
    with pytest.raises(BadRequest, match=fragment):
        parse_query(raw)


def test_the_readers_name_what_is_missing() -> None:
    """Readers of query parameters take a parsed query and name a missing parameter."""
    query = parse_query("xp=a&name=m")
    assert require_query(query, "xp") == "a" and optional_query(query, "after") is None
    with pytest.raises(BadRequest, match="'force' is required"):
        require_query(query, "force")


@pytest.mark.parametrize(
    "value", ["9223372036854775808", "1" * 5000, "-0", "0x10", "1e3", " 1", "١"]
)
def test_counts_out_of_range_or_not_ascii_digits_are_refused(value: str) -> None:
    """A count is ASCII digits up to 2**63-1; anything else is a 400, never a ValueError."""
    with pytest.raises(BadRequest, match="integer from 0 to 2\\*\\*63-1"):
        parse_count({"after": value}, "after")


def test_count_edges() -> None:
    """Leading zeros and the largest count are fine."""
    assert parse_count({"after": "0" * 6000 + "7"}, "after") == 7
    assert parse_count({"after": str(2**63 - 1)}, "after") == 2**63 - 1


def test_clip_is_bounded_for_any_json() -> None:
    """Echoing deep, huge or odd values stays short and fast, and never raises."""
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    huge = list(range(1_000_000))
    started = time.monotonic()
    for value in (deep, huge, {"k" * 10_000: huge}, "x" * 10_000_000, 10**4000, "\ud800"):
        text = clip(value)
        assert len(text) <= 80
    assert time.monotonic() - started < 1.0
    assert clip("short") == "'short'" and clip(None) == "None" and clip(1.5) == "1.5"


@pytest.mark.parametrize(
    "name,error,fragment",
    [
        ("", BadRequest, "not allowed"),
        ("a\udc80", BadRequest, "surrogate"),
        ("a\x00", BadRequest, "control"),
        ("é" * 128, PayloadTooLarge, "256 bytes"),
        (5, BadRequest, "JSON string"),
    ],
    ids=["empty", "surrogate", "nul", "too-long", "not-a-string"],
)
def test_experiment_name_rules(name: object, error: type, fragment: str) -> None:
    """Each broken rule raises its 4xx with a message naming the rule."""
    with pytest.raises(error, match=fragment):
        check_experiment_name(name)


def test_metric_name_rules() -> None:
    """Metric names refuse only empty, NUL, lone surrogates and over-long names."""
    assert check_metric_name("a/b\\c\n..", 1024) == "a/b\\c\n.."
    for name, fragment in (("", "empty"), ("a\x00", "NUL"), ("\ud800", "surrogate")):
        with pytest.raises(BadRequest, match=fragment):
            check_metric_name(name, 1024)
    with pytest.raises(PayloadTooLarge, match="at most 4"):
        check_metric_name("abcde", 4)
