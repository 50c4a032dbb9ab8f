"""Backups: `GET /backup` zips the event files; `POST /backup` restores them, raw or multipart."""

from __future__ import annotations

import io
import zipfile

import aiohttp
import pytest

from bridge_support import assert_api_error
from crayon_bridge import tfrecord


@pytest.fixture
async def logged(client):
    await client.post("/data", json="src")
    await client.post(
        "/data/scalars", params={"xp": "src"}, json={"loss": [[1.0, 0, 1.0], [2.0, 1, 0.5]]}
    )
    await client.post("/data/histograms", params={"xp": "src", "name": "w"}, json=[1.0, 0, [1.0]])


async def backup_of(client, name: str) -> bytes:
    response = await client.get("/backup", params={"xp": name})
    assert response.status == 200, await response.text()
    assert response.content_type == "application/zip"
    return await response.read()


async def everything(client, name: str) -> dict:
    info = await (await client.get("/data", params={"xp": name})).json()
    result = {}
    for kind in ("scalars", "histograms"):
        for metric in info[kind]:
            params = {"xp": name, "name": metric}
            result[kind, metric] = await (await client.get(f"/data/{kind}", params=params)).json()
    return result


async def test_backup_is_a_zip_of_complete_event_files(client, logdir, logged):
    archive = zipfile.ZipFile(io.BytesIO(await backup_of(client, "src")))
    [name] = archive.namelist()
    assert "tfevents" in name
    data = archive.read(name)
    assert data == (logdir / "src" / name).read_bytes()
    records = list(tfrecord.iter_payloads(data))
    assert records[-1][1] == len(data)  # ends on a record boundary


async def test_restore_raw_zip_under_new_name(client, logged):
    data = await backup_of(client, "src")
    response = await client.post(
        "/backup",
        params={"xp": "copy", "force": "true"},
        data=data,
        headers={"Content-Type": "application/zip"},
    )
    assert response.status == 200, await response.text()
    assert await everything(client, "copy") == await everything(client, "src")


async def test_restore_multipart_archive_field_replaces_existing(client, logged):
    data = await backup_of(client, "src")
    await client.post("/data", json="dst")
    await client.post("/data/scalars", params={"xp": "dst", "name": "other"}, json=[1, 0, 1])
    form = aiohttp.FormData()
    form.add_field("mysubmit", "Go")
    form.add_field("archive", data, filename="backup.zip")
    response = await client.post("/backup", params={"xp": "dst", "force": "True"}, data=form)
    assert response.status == 200, await response.text()
    assert await everything(client, "dst") == await everything(client, "src")


async def test_restore_without_force_is_refused_and_changes_nothing(client, logged):
    data = await backup_of(client, "src")
    before = await everything(client, "src")
    for params in ({"xp": "src"}, {"xp": "src", "force": "false"}):
        await assert_api_error(await client.post("/backup", params=params, data=data), 400, "force")
    assert await everything(client, "src") == before


async def test_restore_of_junk_is_400_and_keeps_old_data(client, logged):
    before = await everything(client, "src")
    response = await client.post(
        "/backup", params={"xp": "src", "force": "1"}, data=b"not a zip at all"
    )
    await assert_api_error(response, 400, "not a readable zip")
    assert await everything(client, "src") == before


async def test_backup_of_unknown_experiment_is_404(client):
    await assert_api_error(await client.get("/backup", params={"xp": "nope"}), 404, "'nope'")


async def test_new_points_after_restore_go_to_a_file_sorting_last(client, logdir, logged):
    data = await backup_of(client, "src")
    await client.post("/backup", params={"xp": "copy", "force": "true"}, data=data)
    await client.post("/data/scalars", params={"xp": "copy", "name": "loss"}, json=[3.0, 2, 0.25])
    names = sorted(p.name for p in (logdir / "copy").iterdir())
    assert len(names) == 2
    points = await (await client.get("/data/scalars", params={"xp": "copy", "name": "loss"})).json()
    assert [p[1] for p in points] == [0, 1, 2]
