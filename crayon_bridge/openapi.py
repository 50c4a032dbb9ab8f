"""The OpenAPI 3.1 document of the bridge's HTTP API, served at `GET /openapi.json`.

Built as Python data (no data file to ship). It describes what the server does, exactly: every
status an operation can answer, the batch extensions, the name rules. `tests/ops` runs
schemathesis against a live server to keep it true. A bridge started with a token documents the
401 answers and the two ways to present the token; one without a token documents neither.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import API_VERSION, __version__, jsonio
from .config import Config
from .names import MAX_EXPERIMENT_NAME_BYTES, RESERVED_DIRECTORY
from .params import MAX_STEP

OPENAPI_VERSION = "3.1.0"
DOCUMENT_KEY = web.AppKey("openapi_document", bytes)

Schema = dict[str, Any]

_TEXT = "text/plain"
_JSON = "application/json"
_ZIP = "application/zip"
_BOOL_PATTERN = r"^\s*([Tt][Rr][Uu][Ee]|1|[Yy][Ee][Ss]|[Ff][Aa][Ll][Ss][Ee]|0|[Nn][Oo])\s*$"
_TRUE_PATTERN = r"^\s*([Tt][Rr][Uu][Ee]|1|[Yy][Ee][Ss])\s*$"


def _ref(kind: str, name: str) -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def _schema(name: str) -> Schema:
    return _ref("schemas", name)


def _one_or_many(point: str, batch: str) -> Schema:
    return {"oneOf": [_schema(point), _schema(batch)]}


def _schemas(config: Config) -> dict[str, Schema]:
    """Return the components' schemas; descriptions give this bridge's configured limits."""
    limits = config.limits
    return {
        "ExperimentName": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_EXPERIMENT_NAME_BYTES,
            "pattern": r"^[^/\\\x00-\x1f\x7f-\x9f]+$",
            "not": {"enum": [".", "..", RESERVED_DIRECTORY]},
            "description": (
                "A new experiment's name, kept exactly as sent (spaces, `~`, `$HOME`, shell "
                "characters, any script). Refused (400): empty, `.`, `..`, "
                f"`{RESERVED_DIRECTORY}`, containing `/`, `\\`, control characters or lone "
                "surrogates. Refused (413): longer than "
                f"{MAX_EXPERIMENT_NAME_BYTES} bytes in UTF-8. Refused (409): the name of an "
                "existing experiment, or one that differs from it only in Unicode normalisation."
            ),
            "examples": ["resnet 50", "日本語"],
        },
        "MetricName": {
            "type": "string",
            "minLength": 1,
            "pattern": r"^[^\x00]+$",
            "description": (
                "A metric (TensorBoard tag) name, kept exactly as sent; `/` groups tags in "
                "TensorBoard. Refused (400): empty, containing NUL or lone surrogates. Refused "
                f"(413): longer than {limits.max_metric_name_bytes} bytes in UTF-8."
            ),
            "examples": ["loss", "train/accuracy"],
        },
        "ExperimentNames": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The names of all experiments, sorted.",
        },
        "ExperimentInfo": {
            "type": "object",
            "properties": {
                "scalars": {"type": "array", "items": {"type": "string"}},
                "histograms": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["scalars", "histograms"],
            "additionalProperties": False,
            "description": "The names of an experiment's scalar and histogram metrics, sorted.",
        },
        "WallTime": {
            "type": "number",
            "description": "Seconds since the Unix epoch; a finite number.",
        },
        "Step": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_STEP,
            "description": "An integer from 0 to 2**63-1 (a number with no fractional part).",
        },
        "ScalarValue": {
            "type": "number",
            "description": (
                "Any number. The tokens `NaN`, `Infinity` and `-Infinity` (not JSON, but what "
                "Python clients send for a diverged loss) are accepted and returned the same way; "
                "values are stored as float32, so one beyond its range reads back as +-Infinity."
            ),
        },
        "ScalarPoint": {
            "type": "array",
            "prefixItems": [_schema("WallTime"), _schema("Step"), _schema("ScalarValue")],
            "items": False,
            "minItems": 3,
            "description": "One point: `[wall_time, step, value]`.",
        },
        "ScalarBatch": {
            "type": "array",
            "items": _schema("ScalarPoint"),
            "minItems": 1,
            "description": (
                "Several points of one metric: `[[wall_time, step, value], ...]` (an extension). "
                "All-or-nothing: one bad point refuses the whole request. At most the bridge's "
                f"batch limit ({limits.max_batch_points} points), else 413."
            ),
        },
        "ScalarsByMetric": {
            "type": "object",
            "propertyNames": _schema("MetricName"),
            "additionalProperties": _one_or_many("ScalarPoint", "ScalarBatch"),
            "description": (
                "Points of several metrics in one request: "
                '`{"metric": [[wall_time, step, value], ...], ...}` (an extension, sent without '
                "the `name` parameter). All-or-nothing; the batch limit counts the points of all "
                "metrics."
            ),
        },
        "HistogramValues": {
            "type": "array",
            "items": {"type": "number"},
            "minItems": 1,
            "description": (
                "The values to build a histogram from (`tobuild=true`), as TensorFlow does; every "
                f"value finite. At most {limits.max_histogram_values} values, else 413."
            ),
        },
        "HistogramSpec": {
            "type": "object",
            "properties": {
                "min": {"type": "number"},
                "max": {"type": "number"},
                "num": {"type": "number", "minimum": 0},
                "sum": {"type": "number"},
                "sum_squares": {"type": "number"},
                "bucket_limit": {"type": "array", "items": {"type": "number"}, "minItems": 1},
                "bucket": {
                    "type": "array",
                    "items": {"type": "number", "minimum": 0},
                    "minItems": 1,
                },
            },
            "required": ["min", "max", "num", "bucket_limit", "bucket"],
            "additionalProperties": False,
            "description": (
                "A histogram built by the client (`tobuild=false`): every number finite, "
                "`bucket_limit` (each bucket's right edge) and `bucket` (each bucket's count) "
                "of the same length; a missing `sum` or `sum_squares` reads back as 0.0."
            ),
        },
        "HistogramPoint": {
            "type": "array",
            "prefixItems": [
                _schema("WallTime"),
                _schema("Step"),
                {"oneOf": [_schema("HistogramValues"), _schema("HistogramSpec")]},
            ],
            "items": False,
            "minItems": 3,
            "description": (
                "One histogram: `[wall_time, step, values]` or `[wall_time, step, {...}]`."
            ),
        },
        "HistogramBatch": {
            "type": "array",
            "items": _schema("HistogramPoint"),
            "minItems": 1,
            "description": "Several histograms of one metric (an extension); all-or-nothing.",
        },
        "ScalarRows": {
            "type": "array",
            "items": {
                "type": "array",
                "prefixItems": [
                    _schema("WallTime"),
                    _schema("Step"),
                    {"type": "number", "description": "The value; may be NaN or +-Infinity."},
                ],
                "items": False,
                "minItems": 3,
            },
            "description": (
                "`[[wall_time, step, value], ...]` in logging order. Non-finite values are written "
                "as the tokens `NaN`, `Infinity`, `-Infinity`, as Python's json module does."
            ),
        },
        "HistogramRows": {
            "type": "array",
            "items": {
                "type": "array",
                "prefixItems": [
                    _schema("WallTime"),
                    _schema("Step"),
                    {
                        "type": "array",
                        "prefixItems": [
                            {"type": "number", "description": "min"},
                            {"type": "number", "description": "max"},
                            {"type": "number", "description": "num"},
                            {"type": "number", "description": "sum"},
                            {"type": "number", "description": "sum_squares"},
                            {"type": "array", "items": {"type": "number"}, "description": "limits"},
                            {"type": "array", "items": {"type": "number"}, "description": "counts"},
                        ],
                        "items": False,
                        "minItems": 7,
                    },
                ],
                "items": False,
                "minItems": 3,
            },
            "description": (
                "`[[wall_time, step, [min, max, num, sum, sum_squares, bucket_limit, bucket]], "
                "...]` in logging order."
            ),
        },
        "Ok": {"type": "string", "const": "ok"},
        "ErrorMessage": {
            "type": "string",
            "description": "What was wrong and what is expected, for a person to read.",
        },
    }


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {_TEXT: {"schema": _schema("ErrorMessage")}},
    }
    if headers:
        response["headers"] = headers
    return response


_RESPONSES: dict[str, dict[str, Any]] = {
    "Ok": {
        "description": "Done: the body is the text `ok`.",
        "content": {_TEXT: {"schema": _schema("Ok")}},
    },
    "BadRequest": _error(
        "The request is malformed (a missing, repeated or non-UTF-8 query parameter, a body of "
        "the wrong shape or with a bad value); the body says what was expected."
    ),
    "NotFound": _error("The experiment or metric does not exist."),
    "Conflict": _error(
        "The experiment exists already, or a name differing from an existing one only in "
        "Unicode normalisation."
    ),
    "PayloadTooLarge": _error("The body, batch, name or archive passes a configured limit."),
    "UnsupportedMediaType": _error(
        "The upload has a compressed Content-Encoding; send the zip as it is."
    ),
    "InsufficientStorage": _error(
        "The bridge could not write to its logdir (disk full, permissions); nothing of the "
        "request was stored. Retry once the cause is fixed."
    ),
    "Unauthorized": _error(
        "The access token is missing or wrong.",
        headers={
            "WWW-Authenticate": {
                "description": "The accepted schemes: Bearer and Basic.",
                "schema": {"type": "string"},
                "required": True,
            }
        },
    ),
}


def _query(name: str, schema: Schema, description: str, *, required: bool) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


_PARAMETERS: dict[str, dict[str, Any]] = {
    "Experiment": _query(
        "xp", {"type": "string"}, "The experiment's name (percent-encoded).", required=True
    ),
    "NewExperiment": _query(
        "xp",
        _schema("ExperimentName"),
        "The experiment to create or replace (percent-encoded).",
        required=True,
    ),
    "Metric": _query("name", {"type": "string"}, "The metric's name.", required=True),
    "NewMetric": _query(
        "name", _schema("MetricName"), "The metric to add points to.", required=True
    ),
    "After": _query(
        "after",
        {"type": "integer", "minimum": 0, "maximum": MAX_STEP},
        "Skip the first `after` points (an extension: read only what is new since the last "
        "read). Default 0.",
        required=False,
    ),
}


def _json_body(schema: Schema, description: str) -> dict[str, Any]:
    return {
        "required": True,
        "description": description,
        "content": {_JSON: {"schema": schema}},
    }


def _json_ok(schema: Schema, description: str) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _answers(ok: dict[str, Any], *errors: str) -> dict[str, Any]:
    answers: dict[str, Any] = {"200": ok}
    statuses = {
        "BadRequest": "400",
        "NotFound": "404",
        "Conflict": "409",
        "PayloadTooLarge": "413",
        "UnsupportedMediaType": "415",
        "InsufficientStorage": "507",
    }
    for name in errors:
        answers[statuses[name]] = _ref("responses", name)
    return answers


_OK = _ref("responses", "Ok")


def _operations(config: Config) -> dict[str, dict[str, Any]]:
    """Return the paths object: one entry per route of `app.ROUTES` and `app.OPS_ROUTES`."""
    experiment = _ref("parameters", "Experiment")
    archive = config.archive_limits
    return {
        "/": {
            "get": {
                "operationId": "getVersion",
                "tags": ["server"],
                "summary": "Check that the server runs; answers the Crayon API version.",
                "description": f"Stock pycrayon 0.5 requires the body to be exactly "
                f"`{API_VERSION}`. Needs no token.",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The Crayon API version.",
                        "headers": {
                            "X-Crayon-Bridge-Version": {
                                "description": "The bridge's own version.",
                                "schema": {"type": "string"},
                                "required": True,
                            }
                        },
                        "content": {_TEXT: {"schema": {"type": "string", "const": API_VERSION}}},
                    },
                    "400": _ref("responses", "BadRequest"),
                },
            }
        },
        "/data": {
            "get": {
                "operationId": "getData",
                "tags": ["experiments"],
                "summary": "List experiments; with `xp`, list one experiment's metrics.",
                "parameters": [
                    _query(
                        "xp",
                        {"type": "string"},
                        "An experiment's name: answer its metric names instead of the list.",
                        required=False,
                    )
                ],
                "responses": _answers(
                    _json_ok(
                        {"oneOf": [_schema("ExperimentNames"), _schema("ExperimentInfo")]},
                        "Without `xp`: the names of all experiments. With `xp`: "
                        '`{"scalars": [...], "histograms": [...]}`.',
                    ),
                    "BadRequest",
                    "NotFound",
                ),
            },
            "post": {
                "operationId": "createExperiment",
                "tags": ["experiments"],
                "summary": "Create an experiment; the body is its name as a JSON string.",
                "requestBody": _json_body(_schema("ExperimentName"), "The new experiment's name."),
                "responses": _answers(
                    _OK, "BadRequest", "Conflict", "PayloadTooLarge", "InsufficientStorage"
                ),
            },
            "delete": {
                "operationId": "deleteExperiment",
                "tags": ["experiments"],
                "summary": "Delete an experiment and all its data. Impossible to cancel.",
                "parameters": [experiment],
                "responses": _answers(_OK, "BadRequest", "NotFound", "InsufficientStorage"),
            },
        },
        "/data/scalars": {
            "get": {
                "operationId": "getScalars",
                "tags": ["scalars"],
                "summary": "The points of a scalar metric.",
                "parameters": [
                    experiment,
                    _ref("parameters", "Metric"),
                    _ref("parameters", "After"),
                    _query(
                        "max_points",
                        {"type": "integer", "minimum": 1, "maximum": MAX_STEP},
                        "At most this many points (an extension): a long series is cut into "
                        "runs, each keeping its smallest and largest value, and the last point "
                        "is always kept.",
                        required=False,
                    ),
                ],
                "responses": _answers(
                    _json_ok(_schema("ScalarRows"), "The points, in logging order."),
                    "BadRequest",
                    "NotFound",
                ),
            },
            "post": {
                "operationId": "addScalars",
                "tags": ["scalars"],
                "summary": "Add scalar points: one, a list for one metric, or by metric.",
                "description": (
                    "With `name`: the body is `[wall_time, step, value]` or a list of such "
                    "points. Without `name`: the body is an object mapping metric names to "
                    "points. A batch is all-or-nothing. A 200 means the points were handed to "
                    "the operating system (and fsynced, if the bridge runs with --fsync)."
                ),
                "parameters": [
                    experiment,
                    _query(
                        "name",
                        _schema("MetricName"),
                        "The metric; omit it to send points of several metrics at once.",
                        required=False,
                    ),
                ],
                "requestBody": _json_body(
                    {
                        "oneOf": [
                            _schema("ScalarPoint"),
                            _schema("ScalarBatch"),
                            _schema("ScalarsByMetric"),
                        ]
                    },
                    "A point or a batch (with `name`), or points by metric (without `name`).",
                ),
                "responses": _answers(
                    _OK, "BadRequest", "NotFound", "PayloadTooLarge", "InsufficientStorage"
                ),
            },
        },
        "/data/histograms": {
            "get": {
                "operationId": "getHistograms",
                "tags": ["histograms"],
                "summary": "The histograms of a histogram metric.",
                "parameters": [
                    experiment,
                    _ref("parameters", "Metric"),
                    _ref("parameters", "After"),
                ],
                "responses": _answers(
                    _json_ok(_schema("HistogramRows"), "The histograms, in logging order."),
                    "BadRequest",
                    "NotFound",
                ),
            },
            "post": {
                "operationId": "addHistograms",
                "tags": ["histograms"],
                "summary": "Add a histogram, or a list of histograms, to a metric.",
                "description": (
                    "The histogram is a list of values to build (tobuild=true) or an object "
                    "built by the client (tobuild=false). Without `tobuild` the bridge infers it "
                    "from the body (a list is built, an object is taken as is). All-or-nothing."
                ),
                "parameters": [
                    experiment,
                    _ref("parameters", "NewMetric"),
                    _query(
                        "tobuild",
                        {"type": "string", "pattern": _BOOL_PATTERN},
                        "true/1/yes or false/0/no, in any case (pycrayon sends `True`/`False`).",
                        required=False,
                    ),
                ],
                "requestBody": _json_body(
                    _one_or_many("HistogramPoint", "HistogramBatch"),
                    "`[wall_time, step, histogram]` or a list of them.",
                ),
                "responses": _answers(
                    _OK, "BadRequest", "NotFound", "PayloadTooLarge", "InsufficientStorage"
                ),
            },
        },
        "/backup": {
            "get": {
                "operationId": "getBackup",
                "tags": ["backups"],
                "summary": "A zip of the experiment's event files (complete records only).",
                "parameters": [experiment],
                "responses": _answers(
                    {
                        "description": "The zip, streamed; a consistent snapshot.",
                        "headers": {
                            "Content-Disposition": {
                                "description": "`attachment` with the experiment's name.",
                                "schema": {"type": "string"},
                                "required": True,
                            }
                        },
                        "content": {_ZIP: {"schema": {"type": "string", "format": "binary"}}},
                    },
                    "BadRequest",
                    "NotFound",
                ),
            },
            "post": {
                "operationId": "restoreBackup",
                "tags": ["backups"],
                "summary": "Replace (or create) the experiment with the state in a backup zip.",
                "description": (
                    "Drops all current data of the experiment, so `force` must be true. The zip "
                    "is checked whole (entry paths, links, CRCs, every record, entry count and "
                    "unpacked size) before the experiment is swapped atomically; a refused "
                    "archive leaves the experiment as it was. Limits (413): an upload of "
                    f"{archive.max_upload_bytes} bytes, {archive.max_entries} entries, "
                    f"{archive.max_unpacked_bytes} bytes unpacked."
                ),
                "parameters": [
                    _ref("parameters", "NewExperiment"),
                    _query(
                        "force",
                        {"type": "string", "pattern": _TRUE_PATTERN},
                        "Must be true (true/1/yes, any case): confirms dropping current data.",
                        required=True,
                    ),
                ],
                "requestBody": {
                    "required": True,
                    "description": "The zip, raw (the Lua client) or as the multipart field "
                    "`archive` (pycrayon).",
                    "content": {
                        _ZIP: {"schema": {"type": "string", "format": "binary"}},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {"archive": {"type": "string", "format": "binary"}},
                                "required": ["archive"],
                            }
                        },
                    },
                },
                "responses": _answers(
                    _OK,
                    "BadRequest",
                    "Conflict",
                    "PayloadTooLarge",
                    "UnsupportedMediaType",
                    "InsufficientStorage",
                ),
            },
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "tags": ["server"],
                "summary": "This document. Needs no token.",
                "security": [],
                "responses": {
                    "200": _json_ok({"type": "object"}, "The OpenAPI document of this bridge."),
                    "400": _ref("responses", "BadRequest"),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "getMetrics",
                "tags": ["server"],
                "summary": "Counters and a latency histogram in Prometheus' text format.",
                "responses": {
                    "200": {
                        "description": "Prometheus exposition format 0.0.4.",
                        "content": {_TEXT: {"schema": {"type": "string"}}},
                    },
                    "400": _ref("responses", "BadRequest"),
                },
            }
        },
    }


def build_document(config: Config) -> dict[str, Any]:
    """Return the OpenAPI document of a bridge with `config` (with a token: security, 401s)."""
    token_required = bool(config.token)
    paths = _operations(config)
    components: dict[str, Any] = {
        "schemas": _schemas(config),
        "responses": dict(_RESPONSES),
        "parameters": _PARAMETERS,
    }
    if not token_required:
        del components["responses"]["Unauthorized"]
        for path_item in paths.values():
            for operation in path_item.values():
                operation.pop("security", None)
    else:
        components["securitySchemes"] = {
            "bearerToken": {"type": "http", "scheme": "bearer"},
            "basicToken": {
                "type": "http",
                "scheme": "basic",
                "description": "Any user name; the token is the password (pycrayon: "
                "`CrayonClient('http://user:TOKEN@host')`).",
            },
        }
        for path_item in paths.values():
            for operation in path_item.values():
                if operation.get("security") != []:
                    operation["responses"]["401"] = _ref("responses", "Unauthorized")
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "crayon-bridge",
            "version": __version__,
            "summary": f"The Crayon HTTP API (version {API_VERSION}), stored as TensorBoard "
            "event files.",
            "description": (
                "Every success answer is 200. A refusal is a 4xx, and a failure to write to the "
                "logdir a 507, each with a text body saying what was wrong. Request bodies are "
                f"limited to {config.max_body_bytes} bytes (413). Unknown paths answer 404 and "
                "unknown methods 405. Names in query parameters are percent-encoded as UTF-8 (a "
                "`+` reads as a space); any request with a repeated query parameter or one that "
                "is not UTF-8 is answered 400."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "paths": paths,
        "components": components,
    }
    if token_required:
        document["security"] = [{"bearerToken": []}, {"basicToken": []}]
    return document


def document_bytes(config: Config) -> bytes:
    """Return the document as JSON bytes, built once per application."""
    return jsonio.dumps(build_document(config))


async def get_openapi(request: web.Request) -> web.Response:
    """`GET /openapi.json`: this bridge's OpenAPI document."""
    return web.Response(body=request.app[DOCUMENT_KEY], content_type="application/json")
