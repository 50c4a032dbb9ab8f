"""`GET /openapi.json`: served without a token, valid OpenAPI 3.1, covering exactly the routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis

from crayon_bridge.app import OPS_ROUTES, PUBLIC_ROUTES, ROUTES, create_app
from crayon_bridge.config import Config
from crayon_bridge.openapi import build_document
from crayon_bridge.params import Limits

TOKEN = "s3cret"
PLAIN = Config(logdir=Path("unused"))
WITH_TOKEN = Config(logdir=Path("unused"), token=TOKEN)
ERROR_STATUSES = {"400", "401", "404", "409", "413", "415", "507"}


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    return await aiohttp_client(create_app(Config(logdir=tmp_path)))


@pytest.fixture
async def token_client(aiohttp_client, tmp_path):
    return await aiohttp_client(create_app(Config(logdir=tmp_path, token=TOKEN)))


async def test_document_is_served_as_json(client, tmp_path):
    response = await client.get("/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    assert str(tmp_path) not in await response.text()  # no server path in a public answer
    document = await response.json()
    assert document == build_document(PLAIN)


async def test_document_needs_no_token_but_the_api_does(token_client):
    response = await token_client.get("/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document == build_document(WITH_TOKEN)
    assert (await token_client.get("/data")).status == 401
    assert (await token_client.head("/openapi.json")).status == 200


@pytest.mark.parametrize("token_required", [False, True])
def test_document_is_valid_openapi_3_1(token_required):
    document = build_document(WITH_TOKEN if token_required else PLAIN)
    assert document["openapi"].startswith("3.1")
    schemathesis.openapi.from_dict(document).validate()  # the official 3.1 meta-schema
    for ref in _refs(document):
        assert _resolve(document, ref) is not None, ref


def test_every_route_is_documented_and_every_documented_route_exists():
    served = {(route.method, route.path) for route in [*ROUTES, *OPS_ROUTES]}
    documented = set(_operations(build_document(PLAIN)))
    assert served == documented


def test_operation_ids_are_unique():
    ids = [op["operationId"] for op in _operations(build_document(WITH_TOKEN)).values()]
    assert len(ids) == len(set(ids))


def test_token_variant_documents_401_on_every_operation_but_the_public_ones():
    document = build_document(WITH_TOKEN)
    assert {"bearerToken", "basicToken"} == set(document["components"]["securitySchemes"])
    for key, operation in _operations(document).items():
        if key in PUBLIC_ROUTES:
            assert operation["security"] == [], key
            assert "401" not in operation["responses"], key
        else:
            assert "security" not in operation, key  # the document-wide requirement applies
            assert "401" in operation["responses"], key


def test_tokenless_variant_has_no_security_and_no_401():
    document = build_document(PLAIN)
    assert "security" not in document
    assert "securitySchemes" not in document["components"]
    assert "Unauthorized" not in document["components"]["responses"]
    for key, operation in _operations(document).items():
        assert "security" not in operation, key
        assert "401" not in operation["responses"], key


def test_answers_are_200_or_plain_text_errors():
    document = build_document(WITH_TOKEN)
    for key, operation in _operations(document).items():
        statuses = set(operation["responses"])
        assert "200" in statuses, key
        assert statuses - {"200"} <= ERROR_STATUSES, key
        for status in statuses - {"200"}:
            response = _resolve(document, operation["responses"][status]["$ref"])
            assert set(response["content"]) == {"text/plain"}, (key, status)


def test_write_operations_document_storage_errors():
    operations = _operations(build_document(PLAIN))
    for key in [("POST", "/data"), ("POST", "/data/scalars"), ("POST", "/data/histograms")]:
        assert {"400", "413", "507"} <= set(operations[key]["responses"]), key


def test_document_carries_the_batch_extensions():
    document = build_document(PLAIN)
    schemas = document["components"]["schemas"]
    operations = _operations(document)
    scalar_body = operations["POST", "/data/scalars"]["requestBody"]["content"]
    scalar_forms = {
        ref["$ref"].rsplit("/", 1)[1] for ref in scalar_body["application/json"]["schema"]["oneOf"]
    }
    assert scalar_forms == {"ScalarPoint", "ScalarBatch", "ScalarsByMetric"}
    post_scalars = _param_list(document, operations["POST", "/data/scalars"])
    name = next(p for p in post_scalars if p["name"] == "name")
    assert name["required"] is False
    histogram = schemas["HistogramPoint"]["prefixItems"][2]["oneOf"]
    assert {ref["$ref"].rsplit("/", 1)[1] for ref in histogram} == {
        "HistogramValues",
        "HistogramSpec",
    }
    assert set(schemas["HistogramSpec"]["required"]) == {
        "min",
        "max",
        "num",
        "bucket_limit",
        "bucket",
    }
    get_scalars = {p["name"] for p in _param_list(document, operations["GET", "/data/scalars"])}
    assert get_scalars == {"xp", "name", "after", "max_points"}
    get_histograms = {
        p["name"] for p in _param_list(document, operations["GET", "/data/histograms"])
    }
    assert get_histograms == {"xp", "name", "after"}
    restore = operations["POST", "/backup"]["requestBody"]["content"]
    assert set(restore) == {"application/zip", "multipart/form-data"}
    assert restore["multipart/form-data"]["schema"]["required"] == ["archive"]


def _param_list(document: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        _resolve(document, p["$ref"]) if "$ref" in p else p for p in operation.get("parameters", [])
    ]


def test_descriptions_give_the_configured_limits():
    config = Config(logdir=Path("unused"), limits=Limits(max_batch_points=1234))
    text = str(build_document(config))
    assert "(1234 points)" in text
    assert f"({Limits().max_batch_points} points)" not in text
