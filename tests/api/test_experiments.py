"""`GET /`, and experiments: list, create, info, delete (through the in-process app)."""

from __future__ import annotations

import pytest

from bridge_support import assert_api_error
from crayon_bridge import API_VERSION, __version__


async def test_get_root_answers_api_version_exactly(client):
    response = await client.get("/")
    assert response.status == 200
    assert await response.text() == API_VERSION == "0.5"
    assert response.headers["X-Crayon-Bridge-Version"] == __version__


async def test_get_data_on_empty_logdir_is_empty_list(client):
    response = await client.get("/data")
    assert response.status == 200
    assert await response.json() == []


@pytest.mark.parametrize(
    "name",
    ["plain", "with space", "ünïcödé ✓", "日本語", "a+b&c=d?e#f", "~$HOME;rm -rf *", ".hidden"],
)
async def test_post_data_creates_experiment_named_exactly(client, logdir, name):
    response = await client.post("/data", json=name)
    assert response.status == 200, await response.text()
    assert await (await client.get("/data")).json() == [name]
    info = await client.get("/data", params={"xp": name})
    assert await info.json() == {"scalars": [], "histograms": []}
    # The run directory is the experiment's name, and already holds an event file.
    files = list((logdir / name).iterdir())
    assert len(files) == 1 and files[0].name.startswith("events.out.tfevents.")


async def test_post_data_twice_is_409(client):
    assert (await client.post("/data", json="xp")).status == 200
    await assert_api_error(await client.post("/data", json="xp"), 409, "already exists")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'["a list"]', "must be a JSON string"),
        (b"not json", "not valid JSON"),
        (b'""', "not allowed"),
        (b'"a/b"', "must not contain '/'"),
        (b'".."', "not allowed"),
    ],
    ids=["list", "not-json", "empty", "slash", "dotdot"],
)
async def test_post_data_bad_name_is_400_and_creates_nothing(client, logdir, body, fragment):
    await assert_api_error(await client.post("/data", data=body), 400, fragment)
    assert await (await client.get("/data")).json() == []
    assert [p.name for p in logdir.iterdir()] == [".crayon-bridge"]


async def test_get_data_unknown_experiment_is_404(client):
    await assert_api_error(await client.get("/data", params={"xp": "nope"}), 404, "'nope'")


async def test_get_data_info_lists_metric_names(client):
    await client.post("/data", json="xp")
    await client.post("/data/scalars", params={"xp": "xp", "name": "loss"}, json=[1.0, 0, 1.0])
    await client.post("/data/scalars", params={"xp": "xp", "name": "acc/top1"}, json=[1.0, 0, 1])
    await client.post("/data/histograms", params={"xp": "xp", "name": "w"}, json=[1.0, 0, [1.0]])
    info = await (await client.get("/data", params={"xp": "xp"})).json()
    assert info == {"scalars": ["acc/top1", "loss"], "histograms": ["w"]}


async def test_delete_data_removes_experiment_and_its_directory(client, logdir):
    await client.post("/data", json="gone")
    await client.post("/data", json="kept")
    response = await client.delete("/data", params={"xp": "gone"})
    assert response.status == 200
    assert await (await client.get("/data")).json() == ["kept"]
    assert not (logdir / "gone").exists()
    assert (logdir / "kept").is_dir()
    await assert_api_error(await client.get("/data", params={"xp": "gone"}), 404)


async def test_delete_data_unknown_is_404_and_without_xp_is_400(client):
    await assert_api_error(await client.delete("/data", params={"xp": "nope"}), 404, "'nope'")
    await assert_api_error(await client.delete("/data"), 400, "'xp' is required")


async def test_unknown_route_is_404_and_wrong_method_is_405(client):
    assert (await client.get("/nope")).status == 404
    response = await client.put("/data")
    assert response.status == 405
    assert "GET" in response.headers["Allow"]
