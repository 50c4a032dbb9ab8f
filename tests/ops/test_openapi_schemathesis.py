"""Schemathesis against a real bridge process: no 5xx, and every answer as the document says.

Runs schemathesis' CLI in a subprocess (its own warnings stay out of this pytest's
filterwarnings=error, and its report shows each failure with a curl command to reproduce it).
The bridge runs with a token, so the 401 answers and the ignored-auth check are exercised too.
A config file points most generated `xp`/`name` values at experiments and metrics that exist,
so requests get past the 404 of an unknown experiment into body and parameter validation.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request

import pytest

TOKEN = "schemathesis-token"
MAX_EXAMPLES = 30  # per operation and phase; the whole run takes about 10-20 s
SEED = 20240601  # fixed, so a failure reproduces; set another to explore
RUN_TIMEOUT = 150

# Statuses that count as "refused" for a request that breaks the schema: schemathesis' default
# list plus 413, the bridge's answer to a name, body or batch over a limit.
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]

CONFIG = f"""
[generation]
database = "none"

[checks]
enabled = true

[checks.negative_data_rejection]
expected-statuses = {json.dumps(REJECTED)}

[dictionaries.experiments]
values = ["fuzz"]

[dictionaries.doomed]
values = ["doomed"]

[dictionaries.scalar_reads]
values = ["clean"]

[dictionaries.histogram_reads]
values = ["clean_hist"]

[dictionaries.writes]
values = ["noise", "train/noise"]

# Reads: of metrics that hold finite values only. A value beyond float32 (which the fuzzer
# sends) reads back as the token Infinity, which the API documents but JSON parsers refuse.
[[operations]]
include-name = "GET /data/scalars"
parameters = {{ "query.xp" = {{ dictionary = "experiments", probability = 0.8 }}, \
"query.name" = {{ dictionary = "scalar_reads", probability = 0.8 }} }}

[[operations]]
include-name = "GET /data/histograms"
parameters = {{ "query.xp" = {{ dictionary = "experiments", probability = 0.8 }}, \
"query.name" = {{ dictionary = "histogram_reads", probability = 0.8 }} }}

[[operations]]
include-name-regex = "^GET /(data|backup)$"
parameters = {{ "query.xp" = {{ dictionary = "experiments", probability = 0.5 }} }}

[[operations]]
include-name = "DELETE /data"
parameters = {{ "query.xp" = {{ dictionary = "doomed", probability = 0.3 }} }}

# Writes. positive_data_acceptance is off where a rule cannot be written in JSON Schema, so a
# schema-valid request may rightly be refused: a scalar body's form depends on `name`, a
# histogram's on `tobuild` and its two lists must have the same length, a name's limit is in
# UTF-8 bytes (maxLength counts characters), and a fuzzer cannot make a valid backup zip.
[[operations]]
include-name-regex = "^POST /data/(scalars|histograms)$"
parameters = {{ "query.xp" = {{ dictionary = "experiments", probability = 0.8 }}, \
"query.name" = {{ dictionary = "writes", probability = 0.5 }} }}
checks.positive_data_acceptance.enabled = false

[[operations]]
include-name-regex = "^POST /(data|backup)$"
checks.positive_data_acceptance.enabled = false
"""


def _request(url: str, method: str = "GET", body: object = None) -> bytes:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return response.read()


def _seed_data(url: str) -> None:
    """Create the experiments and metrics the config's dictionaries name."""
    _request(f"{url}/data", "POST", "fuzz")
    _request(f"{url}/data", "POST", "doomed")
    _request(f"{url}/data/scalars?xp=fuzz&name=clean", "POST", [[1.5, i, i / 3] for i in range(9)])
    _request(
        f"{url}/data/histograms?xp=fuzz&name=clean_hist&tobuild=true", "POST", [1.0, 0, [1, 2, 3]]
    )
    prebuilt = {"min": 0, "max": 2, "num": 3, "bucket_limit": [1, 2], "bucket": [1, 2]}
    _request(
        f"{url}/data/histograms?xp=fuzz&name=clean_hist&tobuild=false", "POST", [2, 1, prebuilt]
    )


@pytest.mark.e2e
def test_schemathesis_finds_no_server_error_and_no_schema_violation(server_factory, tmp_path):
    server = server_factory("--token", TOKEN)
    _seed_data(server.url)
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{server.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {TOKEN}",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--no-color",
    ]
    result = subprocess.run(
        command,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"schemathesis found problems (exit {result.returncode}):\n{report}\n"
        f"--- bridge log (last 8000 characters) ---\n{server.output[-8000:]}"
    )
    counts = _requests_by_route_and_status(server.url)
    assert not [key for key in counts if key[2].startswith("5")], counts
    for route in ("/data/scalars", "/data/histograms"):
        # The dictionaries steered writes past "unknown experiment" into body validation.
        assert counts.get((route, "POST", "200"), 0) > 0, counts
        assert counts.get((route, "POST", "400"), 0) > 0, counts
    assert counts.get(("/data/scalars", "GET", "200"), 0) > 0, counts
    assert counts.get(("/data", "POST", "401"), 0) > 0, counts  # the ignored-auth check ran


def _requests_by_route_and_status(url: str) -> dict[tuple[str, str, str], int]:
    text = _request(f"{url}/metrics").decode()
    pattern = re.compile(
        r'^crayon_bridge_requests_total\{route="([^"]*)",method="([^"]*)",status="(\d+)"\} (\d+)$',
        re.M,
    )
    return {(r, m, s): int(n) for r, m, s, n in pattern.findall(text)}
