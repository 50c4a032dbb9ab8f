"""The other half of the input contract: what must be accepted, and come back exactly as sent."""

from __future__ import annotations

import json
import math
import os
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from aiohttp.test_utils import TestClient
from hostile_support import JSON_HEADERS, Seeded, assert_api_error, post_ok, q

# Names that look dangerous to a shell or a path join, but are plain directory names.
ODD_EXPERIMENT_NAMES = {
    "space": "my experiment",
    "tilde": "~",
    "tilde-path": "~root",
    "home-var": "$HOME",
    "shell": "; rm -rf * && echo `id` $(id) | cat > x",
    "quotes": "'\"",
    "glob": "*?[a-z]",
    "leading-dash": "-rf",
    "three-dots": "...",
    "dot-space": ". ",
    "dotdot-inside": "a..b",
    "dotfile": ".hidden",
    "percent": "100%",
    "plus": "a+b",
    "ampersand": "a&b=c",
    "hash": "#1",
    "question": "why?",
    "colon": "C:",
    "cyrillic": "эксперимент",
    "cjk": "实验",
    "arabic-rtl": "تجربة",
    "emoji": "🔥 run 🧪",
    "combining": "e\u0301",
    "zero-width": "a\u200bb",
    "replacement-char": "\ufffd",
    "line-separator": "a\u2028b",
    "bom": "\ufeffbom",
    "255-bytes": "é" * 127 + "x",
    "255-ascii": "x" * 255,
}

ODD_METRIC_NAMES = {
    "slash": "train/loss",
    "leading-slash": "/loss",
    "dotdot-path": "../../etc/passwd",
    "backslash": "a\\b",
    "space": "my loss",
    "newline": "a\nb",
    "tab": "a\tb",
    "control": "\x01\x1f\x7f",
    "emoji": "📉",
    "percent": "%2F",
    "json-like": '{"a": [1]}',
    "long": "m" * 1024,
}


@pytest.mark.parametrize("name", ODD_EXPERIMENT_NAMES.values(), ids=ODD_EXPERIMENT_NAMES.keys())
async def test_odd_experiment_name_is_kept_exactly(
    client: TestClient, logdir: Path, name: str
) -> None:
    """A legal name is stored as a directory of exactly that name and round-trips everywhere."""
    await post_ok(client, "/data", json.dumps(name))
    await post_ok(client, f"/data/scalars?xp={q(name)}&name=loss", "[1.0, 0, 2.0]")
    resp = await client.get("/data")
    assert await resp.json() == [name]
    assert sorted(os.listdir(logdir)) == sorted([".crayon-bridge", name])
    assert (logdir / name).is_dir()
    resp = await client.get(f"/data/scalars?xp={q(name)}&name=loss")
    assert await resp.json() == [[1.0, 0, 2.0]]
    backup = await client.get(f"/backup?xp={q(name)}")
    assert backup.status == 200
    resp = await client.delete(f"/data?xp={q(name)}")
    assert resp.status == 200, await resp.text()
    assert sorted(os.listdir(logdir)) == [".crayon-bridge"]


@pytest.mark.parametrize("name", ODD_METRIC_NAMES.values(), ids=ODD_METRIC_NAMES.keys())
async def test_odd_metric_name_is_kept_exactly(client: TestClient, name: str) -> None:
    """A legal metric name comes back exactly as sent, through the query and through a body."""
    await post_ok(client, "/data", '"xp"')
    await post_ok(client, f"/data/scalars?xp=xp&name={q(name)}", "[1.0, 0, 2.0]")
    await post_ok(client, "/data/scalars?xp=xp", json.dumps({name: [[2.0, 1, 3.0]]}))
    await post_ok(client, f"/data/histograms?xp=xp&name={q(name)}", "[1.0, 0, [1.0]]")
    resp = await client.get("/data?xp=xp")
    assert await resp.json() == {"scalars": [name], "histograms": [name]}
    resp = await client.get(f"/data/scalars?xp=xp&name={q(name)}")
    assert await resp.json() == [[1.0, 0, 2.0], [2.0, 1, 3.0]]


def f32(value: float) -> float:
    """Return `value` as a float32 `simple_value` holds it."""
    with np.errstate(over="ignore"):
        return float(np.float32(value))


SCALAR_VALUES = {
    "nan": ("NaN", math.nan),
    "inf": ("Infinity", math.inf),
    "minus-inf": ("-Infinity", -math.inf),
    "1e999": ("1e999", math.inf),
    "minus-1e999": ("-1e999", -math.inf),
    "above-float32": ("3.5e38", math.inf),
    "below-float32": ("-1e39", -math.inf),
    "big-int": ("1" + "0" * 400, math.inf),
    "minus-big-int": ("-1" + "0" * 400, -math.inf),
    "int64-max": (str(2**63 - 1), f32(2**63 - 1)),
    "tiny": ("1e-50", 0.0),
    "minus-zero": ("-0.0", -0.0),
    "third": ("0.3333333333333333", f32(1 / 3)),
}


@pytest.mark.parametrize("body,expected", SCALAR_VALUES.values(), ids=SCALAR_VALUES.keys())
async def test_any_number_is_a_scalar_value(client: TestClient, body: str, expected: float) -> None:
    """Non-finite and out-of-range values are stored (as float32) and returned as JSON tokens."""
    await post_ok(client, "/data", '"xp"')
    await post_ok(client, "/data/scalars?xp=xp&name=v", f"[1.0, 0, {body}]")
    resp = await client.get("/data/scalars?xp=xp&name=v")
    assert resp.status == 200
    text = await resp.text()
    [[wall_time, step, value]] = json.loads(text)
    assert (wall_time, step) == (1.0, 0)
    if math.isnan(expected):
        assert math.isnan(value) and "NaN" in text
    else:
        assert value == expected and math.copysign(1, value) == math.copysign(1, expected)
    if math.isinf(expected):
        assert ("-Infinity" if expected < 0 else "Infinity") in text


@pytest.mark.parametrize(
    "step,stored",
    [("0", 0), ("5.0", 5), ("-0.0", 0), (str(2**63 - 1), 2**63 - 1), ("1e18", 10**18)],
    ids=["zero", "integral-float", "minus-zero", "int64-max", "exponent"],
)
async def test_step_edges_are_accepted(client: TestClient, step: str, stored: int) -> None:
    """A step is any integer from 0 to 2**63-1, also when written as an integral float."""
    await post_ok(client, "/data", '"xp"')
    await post_ok(client, "/data/scalars?xp=xp&name=v", f"[-5.5, {step}, 1.0]")
    resp = await client.get("/data/scalars?xp=xp&name=v")
    assert await resp.json() == [[-5.5, stored, 1.0]]


async def test_histogram_without_sums_reads_back_zero(client: TestClient) -> None:
    """A prebuilt histogram without `sum`/`sum_squares` reads back 0.0 for both."""
    await post_ok(client, "/data", '"xp"')
    body = '[1.0, 0, {"min": -1, "max": 1, "num": 2, "bucket_limit": [0, 1], "bucket": [1, 1]}]'
    await post_ok(client, "/data/histograms?xp=xp&name=h&tobuild=false", body)
    resp = await client.get("/data/histograms?xp=xp&name=h")
    assert await resp.json() == [[1.0, 0, [-1.0, 1.0, 2.0, 0.0, 0.0, [0.0, 1.0], [1.0, 1.0]]]]


async def test_normalisation_twins_do_not_share_a_directory(seeded: Seeded) -> None:
    """An experiment whose name differs from an existing one only in normalisation is a 409."""
    client = seeded.client
    nfc = unicodedata.normalize("NFC", "café")
    nfd = unicodedata.normalize("NFD", "café")
    assert nfc != nfd
    await post_ok(client, "/data", json.dumps(nfc))
    await post_ok(client, f"/data/scalars?xp={q(nfc)}&name=loss", "[1.0, 0, 2.0]")
    await seeded.remember()
    resp = await client.post("/data", data=json.dumps(nfd), headers=JSON_HEADERS)
    await assert_api_error(resp, 409, "normalisation")
    backup = await seeded.backup(nfc)
    resp = await client.post(f"/backup?xp={q(nfd)}&force=true", data=backup)
    await assert_api_error(resp, 409, "normalisation")
    resp = await client.post(f"/data/scalars?xp={q(nfd)}&name=loss", data="[2.0, 1, 3.0]")
    await assert_api_error(resp, 404, "unknown experiment")
    await seeded.assert_unchanged()


async def test_name_taken_by_a_foreign_directory(seeded: Seeded) -> None:
    """A directory in the logdir that is not an experiment is neither listed nor overwritten."""
    foreign = seeded.logdir / "notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    await seeded.remember()
    resp = await seeded.client.post("/data", data='"notes"', headers=JSON_HEADERS)
    await assert_api_error(resp, 409, "already exists")
    await seeded.assert_unchanged()


async def test_long_batch_keeps_exact_steps_and_any_value(client: TestClient) -> None:
    """In a long batch, steps above 2**53 stay exact and huge values become +-inf."""
    await post_ok(client, "/data", '"xp"')
    steps = [2**63 - 1 - i for i in range(20)] + [2**53 + 1]
    body = ", ".join(f"[{1.5 + i}, {step}, {i}]" for i, step in enumerate(steps))
    body += ", [100.5, 7, 1" + "0" * 400 + "], [101.5, 8, -1e999], [102.5, 9, NaN]"
    await post_ok(client, "/data/scalars?xp=xp&name=v", f"[{body}]")
    rows = json.loads(await (await client.get("/data/scalars?xp=xp&name=v")).text())
    assert [row[1] for row in rows] == [*steps, 7, 8, 9]
    assert rows[-3][2] == math.inf and rows[-2][2] == -math.inf and math.isnan(rows[-1][2])


async def test_escaped_surrogate_pair_is_one_character(client: TestClient) -> None:
    """A JSON surrogate pair escape is a proper character, unlike a lone surrogate."""
    await post_ok(client, "/data", '"\\ud83d\\ude00"')
    assert await (await client.get("/data")).json() == ["\U0001f600"]
