"""Hostile requests to every endpoint: a clean 4xx naming the problem, and nothing changed.

Each case runs against a bridge seeded with known data; afterwards every GET answers as before,
every file holds the same bytes, and the staging area is empty.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from hostile_support import Seeded, assert_api_error, q

BIG_INT = "1" + "0" * 400
DEEP = "[" * 100_000 + "]" * 100_000
DEEP_1000 = "[" * 1000 + "]" * 1000  # just inside orjson's nesting limit (1024)
NFD_CAFE = "cafe\u0301"

SCALARS = "/data/scalars?xp=base&name=loss"
HISTS = "/data/histograms?xp=base&name=weights"
BUILD = HISTS + "&tobuild=true"
PREBUILT = HISTS + "&tobuild=false"


def batch20(last: str) -> str:
    """Return a batch of 20 good points and `last` (long batches may take a faster path)."""
    return "[" + ", ".join(f"[{1.5 + i}, {i}, 0.5]" for i in range(20)) + f", {last}]"


def hist(**changes: object) -> str:
    """Return a prebuilt histogram point with some keys changed (None removes a key)."""
    data: dict[str, object] = {
        "min": 0,
        "max": 2,
        "num": 3,
        "bucket_limit": [1, 2],
        "bucket": [1, 2],
    }
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    return json.dumps([1.0, 5, data])


@dataclass(frozen=True)
class Case:
    """One hostile request and the answer it must get."""

    method: str
    target: str
    body: str | bytes | None
    status: int
    fragments: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()


def case(
    id_: str,
    method: str,
    target: str,
    body: str | bytes | None,
    status: int,
    *fragments: str,
    headers: tuple[tuple[str, str], ...] = (),
    marks: tuple = (),
):
    """Return a `pytest.param` of a Case with a readable id."""
    return pytest.param(Case(method, target, body, status, fragments, headers), id=id_, marks=marks)


# A test that fails until a file owned by someone else changes; the reason names the change.

ROUTING = [
    case("unknown-path", "GET", "/nope", None, 404, "not found"),
    case("unknown-subpath", "GET", "/data/scalar?xp=base&name=loss", None, 404, "not found"),
    case("put-data", "PUT", "/data", '"x"', 405, "not allowed"),
    case("patch-scalars", "PATCH", SCALARS, "[1, 1, 1]", 405, "not allowed"),
    case("delete-backup", "DELETE", "/backup?xp=base", None, 405, "not allowed"),
    case("post-version", "POST", "/", '"x"', 405, "not allowed"),
    case("delete-histograms", "DELETE", HISTS, None, 405, "not allowed"),
    case("post-metrics", "POST", "/metrics", "x", 405, "not allowed"),
    case("delete-openapi", "DELETE", "/openapi.json", None, 405, "not allowed"),
    case("trailing-slash", "GET", "/data/", None, 404, "not found"),
]

CREATE = [
    case("not-json", "POST", "/data", "hello", 400, "not valid JSON"),
    case("empty-body", "POST", "/data", "", 400, "not valid JSON"),
    case("invalid-utf8", "POST", "/data", b'"\xff\xfe"', 400, "not valid JSON"),
    case("utf8-surrogate-bytes", "POST", "/data", b'"\xed\xa0\x80"', 400, "surrogate"),
    case("deep-nesting", "POST", "/data", DEEP, 400, "not valid JSON"),
    case("nesting-1000", "POST", "/data", DEEP_1000, 400, "must be a JSON string"),
    case("number", "POST", "/data", "1", 400, "must be a JSON string", "1"),
    case("giant-number", "POST", "/data", "1e999", 400, "must be a JSON string"),
    case("big-int", "POST", "/data", BIG_INT, 400, "must be a JSON string"),
    case("null", "POST", "/data", "null", 400, "must be a JSON string", "None"),
    case("bool", "POST", "/data", "true", 400, "must be a JSON string"),
    case("object", "POST", "/data", '{"name": "x"}', 400, "must be a JSON string"),
    case("list", "POST", "/data", '["x"]', 400, "must be a JSON string"),
    case("empty-name", "POST", "/data", '""', 400, "not allowed"),
    case("dot", "POST", "/data", '"."', 400, "not allowed"),
    case("dotdot", "POST", "/data", '".."', 400, "not allowed"),
    case("slash", "POST", "/data", '"a/b"', 400, "must not contain '/'"),
    case("leading-slash", "POST", "/data", '"/etc"', 400, "must not contain '/'"),
    case("dotdot-slash", "POST", "/data", '"../x"', 400, "must not contain '/'"),
    case("backslash", "POST", "/data", '"..\\\\x"', 400, "must not contain '/' or"),
    case("nul", "POST", "/data", '"a\\u0000b"', 400, "control characters"),
    case("newline", "POST", "/data", '"a\\nb"', 400, "control characters"),
    case("escape-char", "POST", "/data", '"\\u001b[31m"', 400, "control characters"),
    case("c1-control", "POST", "/data", '"a\\u0085"', 400, "control characters"),
    case("del-char", "POST", "/data", '"a\\u007f"', 400, "control characters"),
    case("lone-surrogate", "POST", "/data", '"a\\ud800"', 400, "surrogate"),
    case("low-surrogate", "POST", "/data", '"\\udfff"', 400, "surrogate"),
    case("256-bytes", "POST", "/data", json.dumps("é" * 128), 413, "256 bytes", "255"),
    case("reserved", "POST", "/data", '".crayon-bridge"', 400, "reserved"),
    case("duplicate", "POST", "/data", '"base"', 409, "already exists"),
    case("duplicate-escaped", "POST", "/data", '"\\u0062ase"', 409, "already exists"),
]

INFO = [
    case("unknown-xp", "GET", "/data?xp=nope", None, 404, "unknown experiment", "nope"),
    case("empty-xp", "GET", "/data?xp=", None, 404, "unknown experiment"),
    case("nul-xp", "GET", "/data?xp=%00", None, 404, "unknown experiment"),
    case("dotdot-xp", "GET", "/data?xp=..", None, 404, "unknown experiment"),
    case("staging-xp", "GET", "/data?xp=.crayon-bridge", None, 404, "unknown experiment"),
    case("slash-xp", "GET", "/data?xp=..%2F..%2Fetc", None, 404, "unknown experiment"),
    case("nfd-xp", "GET", f"/data?xp={q(NFD_CAFE)}", None, 404, "unknown experiment"),
    case(
        "invalid-utf8-xp",
        "GET",
        "/data?xp=base%FF",
        None,
        400,
        "UTF-8",
    ),
    case("repeated-xp", "GET", "/data?xp=base&xp=nope", None, 400, "'xp'"),
]

DELETE = [
    case("no-xp", "DELETE", "/data", None, 400, "'xp' is required"),
    case("unknown", "DELETE", "/data?xp=nope", None, 404, "unknown experiment"),
    case("dotdot", "DELETE", "/data?xp=..", None, 404, "unknown experiment"),
    case("encoded-dotdot", "DELETE", "/data?xp=%2E%2E", None, 404, "unknown experiment"),
    case("staging", "DELETE", "/data?xp=.crayon-bridge", None, 404, "unknown experiment"),
    case("parent-path", "DELETE", "/data?xp=..%2Fbase", None, 404, "unknown experiment"),
    case("glob", "DELETE", "/data?xp=*", None, 404, "unknown experiment"),
    case("dot", "DELETE", "/data?xp=.", None, 404, "unknown experiment"),
    case("repeated", "DELETE", "/data?xp=base&xp=second", None, 400, "'xp'", "once"),
    case("percent-ff", "DELETE", "/data?xp=%FF", None, 400, "UTF-8"),
]

POST_SCALARS = [
    case("no-xp", "POST", "/data/scalars?name=loss", "[1, 1, 1]", 400, "'xp' is required"),
    case("unknown-xp", "POST", "/data/scalars?xp=nope&name=l", "[1, 1, 1]", 404, "unknown"),
    case("not-json", "POST", SCALARS, "1, 2, 3", 400, "not valid JSON"),
    case("python-repr", "POST", SCALARS, "(1, 2, 3)", 400, "not valid JSON"),
    case("empty-body", "POST", SCALARS, "", 400, "not valid JSON"),
    case("invalid-utf8", "POST", SCALARS, b"[1, 2, \xff]", 400, "not valid JSON"),
    case("deep-nesting", "POST", SCALARS, DEEP, 400, "not valid JSON"),
    case("nesting-1000", "POST", SCALARS, DEEP_1000, 400, "expected [wall_time, step, value]"),
    case("five-thousand-digits", "POST", SCALARS, "[1, 1, 1" + "0" * 5000 + "]", 400, "JSON"),
    case("two-items", "POST", SCALARS, "[1, 2]", 400, "[wall_time, step, value]", "2 items"),
    case("four-items", "POST", SCALARS, "[1, 2, 3, 4]", 400, "[wall_time, step, value]"),
    case("empty-list", "POST", SCALARS, "[]", 400, "[wall_time, step, value]"),
    case("object", "POST", SCALARS, '{"loss": [1, 2, 3]}', 400, "[wall_time, step, value]"),
    case("string", "POST", SCALARS, '"1,2,3"', 400, "[wall_time, step, value]"),
    case("null", "POST", SCALARS, "null", 400, "[wall_time, step, value]"),
    case("wall-string", "POST", SCALARS, '["1", 1, 1]', 400, "wall_time", "finite number"),
    case("wall-bool", "POST", SCALARS, "[true, 1, 1]", 400, "wall_time", "finite number"),
    case("wall-null", "POST", SCALARS, "[null, 1, 1]", 400, "wall_time", "finite number"),
    case("wall-nan", "POST", SCALARS, "[NaN, 1, 1]", 400, "wall_time", "finite number"),
    case("wall-inf", "POST", SCALARS, "[Infinity, 1, 1]", 400, "wall_time", "finite number"),
    case("wall-1e999", "POST", SCALARS, "[1e999, 1, 1]", 400, "wall_time", "finite number"),
    case("wall-big-int", "POST", SCALARS, f"[{BIG_INT}, 1, 1]", 400, "wall_time", "finite"),
    case("wall-list", "POST", SCALARS, "[[1], 1, 1]", 400, "[wall_time, step, value]"),
    case("step-negative", "POST", SCALARS, "[1, -1, 1]", 400, "step", "integer from 0"),
    case("step-fraction", "POST", SCALARS, "[1, 1.5, 1]", 400, "step", "integer", "1.5"),
    case("step-2-63", "POST", SCALARS, f"[1, {2**63}, 1]", 400, "step", "2**63-1"),
    case("step-1e300", "POST", SCALARS, "[1, 1e300, 1]", 400, "step", "integer"),
    case("step-big-int", "POST", SCALARS, f"[1, {BIG_INT}, 1]", 400, "step", "integer"),
    case("step-nan", "POST", SCALARS, "[1, NaN, 1]", 400, "step", "integer"),
    case("step-inf", "POST", SCALARS, "[1, -Infinity, 1]", 400, "step", "integer"),
    case("step-string", "POST", SCALARS, '[1, "1", 1]', 400, "step", "integer"),
    case("step-bool", "POST", SCALARS, "[1, true, 1]", 400, "step", "integer"),
    case("step-null", "POST", SCALARS, "[1, null, 1]", 400, "step", "integer"),
    case("value-string", "POST", SCALARS, '[1, 1, "0.5"]', 400, "value must be a number"),
    case("value-bool", "POST", SCALARS, "[1, 1, false]", 400, "value must be a number"),
    case("value-null", "POST", SCALARS, "[1, 1, null]", 400, "value must be a number"),
    case("value-list", "POST", SCALARS, "[1, 1, [0.5]]", 400, "value must be a number"),
    case("value-object", "POST", SCALARS, '[1, 1, {"v": 1}]', 400, "value must be a number"),
    case(
        "batch-last-bad",
        "POST",
        SCALARS,
        '[[1, 10, 1], [2, 11, 2], [3, 12, "x"]]',
        400,
        "point 2",
        "value must be a number",
    ),
    case("batch-mixed", "POST", SCALARS, "[[1, 10, 1], 5]", 400, "point 1"),
    case("batch-20-bool-step", "POST", SCALARS, batch20("[1, true, 1]"), 400, "point 20", "step"),
    case("batch-20-nan-wall", "POST", SCALARS, batch20("[NaN, 1, 1]"), 400, "point 20", "wall"),
    case("batch-20-string", "POST", SCALARS, batch20('[1, 1, "1"]'), 400, "point 20", "value"),
    case("batch-20-short", "POST", SCALARS, batch20("[1, 1]"), 400, "point 20", "2 items"),
    case("batch-20-step-2-63", "POST", SCALARS, batch20(f"[1, {2**63}, 1]"), 400, "point 20"),
    case("batch-20-neg-step", "POST", SCALARS, batch20("[1.5, -1, 1]"), 400, "point 20", "step"),
    case("batch-20-big-wall", "POST", SCALARS, batch20(f"[{BIG_INT}, 1, 1]"), 400, "point 20"),
    case("empty-name", "POST", "/data/scalars?xp=base&name=", "[1, 1, 1]", 400, "empty"),
    case("nul-name", "POST", "/data/scalars?xp=base&name=a%00b", "[1, 1, 1]", 400, "NUL"),
    case(
        "surrogate-name",
        "POST",
        "/data/scalars?xp=base&name=a%ED%A0%80",
        "[1, 1, 1]",
        400,
        "UTF-8",
    ),
    case(
        "invalid-utf8-name",
        "POST",
        "/data/scalars?xp=base&name=%FF",
        "[1, 1, 1]",
        400,
        "UTF-8",
    ),
    case(
        "repeated-name",
        "POST",
        "/data/scalars?xp=base&name=loss&name=other",
        "[1, 1, 1]",
        400,
        "'name'",
    ),
    case("long-name", "POST", f"/data/scalars?xp=base&name={'m' * 1025}", "[1, 1, 1]", 413, "1024"),
    case("dict-not-object", "POST", "/data/scalars?xp=base", "[1, 1, 1]", 400, "without a 'name'"),
    case("dict-empty-metric", "POST", "/data/scalars?xp=base", '{"": [[1, 1, 1]]}', 400, "empty"),
    case(
        "dict-nul-metric",
        "POST",
        "/data/scalars?xp=base",
        '{"a\\u0000": [[1, 1, 1]]}',
        400,
        "NUL",
    ),
    case(
        "dict-surrogate-metric",
        "POST",
        "/data/scalars?xp=base",
        '{"a\\udc80": [[1, 1, 1]]}',
        400,
        "surrogate",
    ),
    case("dict-bad-points", "POST", "/data/scalars?xp=base", '{"m": "1,1,1"}', 400, "metric 'm'"),
    case(
        "dict-one-bad-metric",
        "POST",
        "/data/scalars?xp=base",
        '{"new": [[1, 1, 1]], "loss": [[1, 1, 1], [1, -2, 1]]}',
        400,
        "metric 'loss', point 1",
        "step",
    ),
]

GET_SCALARS = [
    case("no-name", "GET", "/data/scalars?xp=base", None, 400, "'name' is required"),
    case("no-xp", "GET", "/data/scalars?name=loss", None, 400, "'xp' is required"),
    case("unknown-metric", "GET", "/data/scalars?xp=base&name=nope", None, 404, "unknown scalar"),
    case("histogram-metric", "GET", "/data/scalars?xp=base&name=weights", None, 404, "unknown"),
    case("unknown-xp", "GET", "/data/scalars?xp=nope&name=loss", None, 404, "unknown experiment"),
    case("after-negative", "GET", SCALARS + "&after=-1", None, 400, "'after'", "integer from 0"),
    case("after-word", "GET", SCALARS + "&after=ten", None, 400, "'after'", "integer from 0"),
    case("after-fraction", "GET", SCALARS + "&after=1.5", None, 400, "'after'"),
    case("after-unicode-digit", "GET", SCALARS + "&after=%C2%B2", None, 400, "'after'"),
    case("after-huge", "GET", SCALARS + "&after=" + "9" * 5000, None, 400, "'after'"),
    case("max-points-word", "GET", SCALARS + "&max_points=all", None, 400, "'max_points'"),
    case("max-points-negative", "GET", SCALARS + "&max_points=-5", None, 400, "'max_points'"),
    case("repeated-after", "GET", SCALARS + "&after=1&after=2", None, 400, "'after'", "once"),
]

POST_HISTOGRAMS = [
    case("no-name", "POST", "/data/histograms?xp=base", "[1, 1, [1]]", 400, "'name' is required"),
    case("unknown-xp", "POST", "/data/histograms?xp=no&name=w", "[1, 1, [1]]", 404, "unknown"),
    case("tobuild-word", "POST", HISTS + "&tobuild=maybe", "[1, 1, [1]]", 400, "'tobuild'"),
    case("repeated-tobuild", "POST", BUILD + "&tobuild=false", "[1, 1, [1]]", 400, "once"),
    case("not-json", "POST", BUILD, "[1, 1, [1, 2", 400, "not valid JSON"),
    case("deep-nesting", "POST", BUILD, DEEP, 400, "not valid JSON"),
    case("nesting-1000", "POST", BUILD, DEEP_1000, 400, "expected [wall_time, step, value]"),
    case("build-object", "POST", BUILD, hist(), 400, "tobuild=true", "list of values"),
    case("build-empty", "POST", BUILD, "[1, 1, []]", 400, "must not be empty"),
    case("build-nan", "POST", BUILD, "[1, 1, [1, NaN]]", 400, "value 1", "finite"),
    case("build-inf", "POST", BUILD, "[1, 1, [-Infinity]]", 400, "finite"),
    case("build-1e999", "POST", BUILD, "[1, 1, [1e999]]", 400, "finite"),
    case("build-big-int", "POST", BUILD, f"[1, 1, [1, {BIG_INT}]]", 400, "value 1", "finite"),
    case("build-strings", "POST", BUILD, '[1, 1, ["1", "2"]]', 400, "value 0", "number"),
    case("build-null", "POST", BUILD, "[1, 1, [1, null]]", 400, "value 1", "number"),
    case("build-bool", "POST", BUILD, "[1, 1, [1, true]]", 400, "value 1", "number"),
    case("build-nested", "POST", BUILD, "[1, 1, [[1, 2], [3, 4]]]", 400, "number"),
    case("build-ragged", "POST", BUILD, "[1, 1, [[1, 2], [3]]]", 400, "number"),
    case("build-object-item", "POST", BUILD, '[1, 1, [{"a": 1}]]', 400, "number"),
    case("build-wall-nan", "POST", BUILD, "[NaN, 1, [1]]", 400, "wall_time"),
    case("build-step-fraction", "POST", BUILD, "[1, 0.5, [1]]", 400, "step"),
    case("prebuilt-list", "POST", PREBUILT, "[1, 1, [1, 2]]", 400, "tobuild=false", "object"),
    case("inferred-number", "POST", HISTS, "[1, 1, 5]", 400, "histogram", "object"),
    case("missing-min", "POST", PREBUILT, hist(min=None), 400, "missing ['min']"),
    case("missing-bucket", "POST", PREBUILT, hist(bucket=None), 400, "missing ['bucket']"),
    case("unknown-key", "POST", PREBUILT, hist(mean=1), 400, "unknown keys", "mean"),
    case("min-nan", "POST", PREBUILT, hist(min=float("nan")), 400, "min", "finite"),
    case("max-inf", "POST", PREBUILT, hist(max=float("inf")), 400, "max", "finite"),
    case("min-string", "POST", PREBUILT, hist(min="0"), 400, "min", "finite"),
    case("min-bool", "POST", PREBUILT, hist(min=False), 400, "min", "finite"),
    case("min-big-int", "POST", PREBUILT, hist(min=10**400), 400, "min", "finite"),
    case("num-negative", "POST", PREBUILT, hist(num=-1), 400, "num", ">= 0"),
    case("sum-inf", "POST", PREBUILT, hist(sum=float("-inf")), 400, "sum", "finite"),
    case("sum-squares-string", "POST", PREBUILT, hist(sum_squares="1"), 400, "sum_squares"),
    case("bucket-negative", "POST", PREBUILT, hist(bucket=[1, -2]), 400, "bucket[1]", ">= 0"),
    case("bucket-nan", "POST", PREBUILT, hist(bucket=[1, float("nan")]), 400, "bucket[1]"),
    case("limit-inf", "POST", PREBUILT, hist(bucket_limit=[1, float("inf")]), 400, "limit[1]"),
    case("limit-string", "POST", PREBUILT, hist(bucket_limit=[1, "2"]), 400, "bucket_limit[1]"),
    case("limit-big-int", "POST", PREBUILT, hist(bucket_limit=[1, 10**400]), 400, "limit[1]"),
    case("lengths-differ", "POST", PREBUILT, hist(bucket=[1, 2, 3]), 400, "same length"),
    case(
        "both-empty",
        "POST",
        PREBUILT,
        hist(bucket=[], bucket_limit=[]),
        400,
        "non-empty list",
    ),
    case("bucket-not-list", "POST", PREBUILT, hist(bucket=3), 400, "bucket", "list"),
    case(
        "batch-one-bad",
        "POST",
        BUILD,
        "[[1, 10, [1, 2]], [2, 11, [3]], [3, 12, [NaN]]]",
        400,
        "histogram 2",
        "finite",
    ),
    case("empty-name", "POST", "/data/histograms?xp=base&name=", "[1, 1, [1]]", 400, "empty"),
    case("nul-name", "POST", "/data/histograms?xp=base&name=%00", "[1, 1, [1]]", 400, "NUL"),
]

GET_HISTOGRAMS = [
    case("no-name", "GET", "/data/histograms?xp=base", None, 400, "'name' is required"),
    case("unknown", "GET", "/data/histograms?xp=base&name=loss", None, 404, "unknown histogram"),
    case("unknown-xp", "GET", "/data/histograms?xp=nope&name=w", None, 404, "unknown experiment"),
    case("after-word", "GET", HISTS + "&after=x", None, 400, "'after'"),
    case("after-huge", "GET", HISTS + "&after=" + "1" * 4400, None, 400, "'after'"),
]

BACKUP = [
    case("get-no-xp", "GET", "/backup", None, 400, "'xp' is required"),
    case("get-unknown", "GET", "/backup?xp=nope", None, 404, "unknown experiment"),
    case("get-dotdot", "GET", "/backup?xp=..", None, 404, "unknown experiment"),
    case("get-staging", "GET", "/backup?xp=.crayon-bridge", None, 404, "unknown experiment"),
    case("post-no-xp", "POST", "/backup?force=true", b"PK", 400, "'xp' is required"),
    case("post-no-force", "POST", "/backup?xp=base", b"PK", 400, "force=true"),
    case("post-force-false", "POST", "/backup?xp=base&force=false", b"PK", 400, "force=true"),
    case("post-force-word", "POST", "/backup?xp=base&force=sure", b"PK", 400, "'force'"),
    case("post-slash", "POST", "/backup?xp=a%2Fb&force=true", b"PK", 400, "'/'"),
    case("post-dotdot", "POST", "/backup?xp=..&force=true", b"PK", 400, "not allowed"),
    case("post-nul", "POST", "/backup?xp=a%00&force=true", b"PK", 400, "control"),
    case("post-staging", "POST", "/backup?xp=.crayon-bridge&force=true", b"PK", 400, "reserved"),
    case("post-empty", "POST", "/backup?xp=base&force=true", b"", 400, "empty"),
    case("post-junk", "POST", "/backup?xp=base&force=true", b"junk" * 100, 400, "not a readable"),
    case("post-json", "POST", "/backup?xp=base&force=true", b'"base"', 400, "not a readable zip"),
    case(
        "post-invalid-utf8-xp",
        "POST",
        "/backup?xp=%FF&force=true",
        b"PK",
        400,
        "UTF-8",
    ),
    case(
        "post-surrogate-xp",
        "POST",
        "/backup?xp=%ED%A0%80&force=true",
        b"PK",
        400,
        "UTF-8",
    ),
]

ALL_CASES = (
    [pytest.param(*p.values, id=f"routing-{p.id}", marks=p.marks) for p in ROUTING]
    + [pytest.param(*p.values, id=f"create-{p.id}", marks=p.marks) for p in CREATE]
    + [pytest.param(*p.values, id=f"info-{p.id}", marks=p.marks) for p in INFO]
    + [pytest.param(*p.values, id=f"delete-{p.id}", marks=p.marks) for p in DELETE]
    + [pytest.param(*p.values, id=f"post-scalars-{p.id}", marks=p.marks) for p in POST_SCALARS]
    + [pytest.param(*p.values, id=f"get-scalars-{p.id}", marks=p.marks) for p in GET_SCALARS]
    + [pytest.param(*p.values, id=f"post-hist-{p.id}", marks=p.marks) for p in POST_HISTOGRAMS]
    + [pytest.param(*p.values, id=f"get-hist-{p.id}", marks=p.marks) for p in GET_HISTOGRAMS]
    + [pytest.param(*p.values, id=f"backup-{p.id}", marks=p.marks) for p in BACKUP]
)


@pytest.mark.parametrize("hostile", ALL_CASES)
async def test_hostile_request_is_refused_and_changes_nothing(
    seeded: Seeded, hostile: Case
) -> None:
    """A hostile request gets its 4xx with a message; every GET and file stays as it was."""
    headers = dict(hostile.headers)
    if hostile.body is not None:
        headers.setdefault("Content-Type", "application/json")
    resp = await seeded.client.request(
        hostile.method, hostile.target, data=hostile.body, headers=headers
    )
    await assert_api_error(resp, hostile.status, *hostile.fragments)
    await seeded.assert_unchanged()
