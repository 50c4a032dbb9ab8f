"""`crayon_bridge.client.CrayonClient` behaves as stock pycrayon 0.5 against a real bridge.

One workflow, written once, runs with both clients; both must observe exactly the same things.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pycrayon
import pytest

from crayon_bridge.client import CrayonClient, CrayonError, CrayonExperiment

pytestmark = pytest.mark.e2e

CLIENTS = {"stock-pycrayon": pycrayon.CrayonClient, "crayon-bridge": CrayonClient}
XP = "run one é"  # a space and non-ASCII: both clients must get these through
PREBUILT = {
    "min": 0.0,
    "max": 2.0,
    "num": 3.0,
    "sum": 3.0,
    "sum_squares": 5.0,
    "bucket_limit": [1.0, 2.0],
    "bucket": [1.0, 2.0],
}


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _raises(call: Any, *args: Any, **kwargs: Any) -> list[str]:
    """Run a call that must fail; return which of pycrayon's exception types it raised."""
    try:
        call(*args, **kwargs)
    except Exception as exc:  # the test is about the exception's types
        return [
            kind.__name__ for kind in (ValueError, OSError, RuntimeError) if isinstance(exc, kind)
        ]
    raise AssertionError(f"{call} did not raise")


def pycrayon_workflow(client_class: type, url: str, tmp_path: Path) -> dict[str, Any]:
    """Drive a Crayon client through its whole API; return everything it observed."""
    seen: dict[str, Any] = {}
    client = client_class(hostname="127.0.0.1", port=_port(url))
    client.remove_all_experiments()
    seen["empty"] = client.get_experiment_names()

    xp = client.create_experiment(XP)
    xp.add_scalar_value("loss", 0.5, wall_time=1000.0)  # step 0
    xp.add_scalar_value("loss", 0.25, wall_time=1001.0)  # step 1
    xp.add_scalar_value("loss", 0.125, wall_time=1002.0, step=10)
    xp.add_scalar_value("loss", 2.0**-4, wall_time=1003.0)  # step 11
    xp.add_scalar_dict({"acc": 0.75, "learning rate": 0.5}, wall_time=1004.0)
    xp.add_scalar_dict({"acc": 0.875, "learning rate": 0.25}, wall_time=1005.0, step=5)
    xp.add_scalar_value("rounded", 0.1, wall_time=1006.0)  # float32 rounding on the bridge
    before = time.time()
    xp.add_scalar_value("auto time", 3.0)
    xp.add_histogram_value("weights", [0.5, 0.25, -1.0, 3.0], tobuild=True, wall_time=1007.0)
    xp.add_histogram_value("weights", [1.0, 2.0, 2.0], tobuild=True, wall_time=1008.0)
    xp.add_histogram_value("prebuilt", PREBUILT, tobuild=False, wall_time=1009.0, step=3)
    seen["bad histogram"] = _raises(xp.add_histogram_value, "bad", {"min": 1.0})
    seen["bad tobuild"] = _raises(xp.add_histogram_value, "bad", {"a": 1}, tobuild=True)
    seen["dict name"] = _raises(xp.add_scalar_dict, {3: 1.0})

    seen["names"] = client.get_experiment_names()
    seen["scalar names"] = sorted(xp.get_scalar_names())
    seen["histogram names"] = sorted(xp.get_histogram_names())
    for name in ("loss", "acc", "learning rate", "rounded"):
        seen[f"scalars {name}"] = xp.get_scalar_values(name)
    ((wall_time, step, value),) = xp.get_scalar_values("auto time")
    seen["auto time"] = [before <= wall_time <= time.time() + 1, step, value]
    for name in ("weights", "prebuilt"):
        seen[f"histograms {name}"] = xp.get_histogram_values(name)
    seen["unknown metric"] = _raises(xp.get_scalar_values, "nope")

    # Opening an existing experiment continues each scalar's steps.
    again = client.open_experiment(XP)
    seen["reopened steps"] = dict(sorted(again.scalar_steps.items()))
    again.add_scalar_value("loss", 0.0, wall_time=1010.0)  # step 12
    again.add_histogram_value("weights", [4.0], tobuild=True, wall_time=1011.0, step=2)
    seen["loss after reopen"] = again.get_scalar_values("loss")[-2:]
    seen["weights after reopen"] = [row[:2] for row in again.get_histogram_values("weights")]

    seen["duplicate"] = _raises(client.create_experiment, XP)
    seen["open unknown"] = _raises(client.open_experiment, "no such experiment")
    seen["zip without create"] = _raises(
        type(xp), "x", client, zip_file=str(tmp_path / "a.zip"), create=False
    )
    seen["missing zip"] = _raises(
        client.create_experiment, "from nothing", zip_file=str(tmp_path / "missing.zip")
    )

    # Back up, restore under a new name, compare, remove.
    path = xp.to_zip(str(tmp_path / f"backup-{client_class.__module__}"))
    seen["zip name"] = Path(path).name.replace(client_class.__module__, "M")
    restored = client.create_experiment("restored", zip_file=path)
    seen["restored equal"] = all(
        restored.get_scalar_values(name) == xp.get_scalar_values(name)
        for name in xp.get_scalar_names()
    ) and all(
        restored.get_histogram_values(name) == xp.get_histogram_values(name)
        for name in xp.get_histogram_names()
    )
    seen["names with restored"] = sorted(client.get_experiment_names())
    client.remove_experiment("restored")
    seen["after remove"] = client.get_experiment_names()
    client.remove_all_experiments()
    seen["after remove all"] = client.get_experiment_names()
    return seen


EXPECTED = {
    "empty": [],
    "bad histogram": ["ValueError"],
    "bad tobuild": ["ValueError"],
    "dict name": ["ValueError"],
    "names": [XP],
    "scalar names": ["acc", "auto time", "learning rate", "loss", "rounded"],
    "histogram names": ["prebuilt", "weights"],
    "scalars loss": [
        [1000.0, 0, 0.5],
        [1001.0, 1, 0.25],
        [1002.0, 10, 0.125],
        [1003.0, 11, 0.0625],
    ],
    "scalars acc": [[1004.0, 0, 0.75], [1005.0, 5, 0.875]],
    "scalars learning rate": [[1004.0, 0, 0.5], [1005.0, 5, 0.25]],
    "scalars rounded": [[1006.0, 0, 0.10000000149011612]],
    "auto time": [True, 0, 3.0],
    "unknown metric": ["ValueError"],
    "reopened steps": {"acc": 6, "auto time": 1, "learning rate": 6, "loss": 12, "rounded": 1},
    "loss after reopen": [[1003.0, 11, 0.0625], [1010.0, 12, 0.0]],
    "weights after reopen": [[1007.0, 0], [1008.0, 1], [1011.0, 2]],
    "duplicate": ["ValueError"],
    "open unknown": ["ValueError"],
    "zip without create": ["ValueError"],
    "missing zip": ["OSError"],
    "zip name": "backup-M.zip",
    "restored equal": True,
    "names with restored": ["restored", XP],
    "after remove": [XP],
    "after remove all": [],
}


@pytest.mark.parametrize("client_class", CLIENTS.values(), ids=CLIENTS.keys())
def test_workflow_observes_what_stock_pycrayon_observes(client_class, live_server, tmp_path):
    seen = pycrayon_workflow(client_class, live_server.url, tmp_path)
    histograms = {key: seen.pop(key) for key in ("histograms weights", "histograms prebuilt")}
    assert seen == EXPECTED
    assert histograms["histograms prebuilt"] == [
        [1009.0, 3, [0.0, 2.0, 3.0, 3.0, 5.0, [1.0, 2.0], [1.0, 2.0]]]
    ]
    first, second = histograms["histograms weights"]
    assert first[:2] == [1007.0, 0]
    assert first[2][:5] == [-1.0, 3.0, 4.0, 2.75, 10.3125]  # min, max, num, sum, sum_squares
    assert second[:2] == [1008.0, 1]
    assert second[2][:5] == [1.0, 2.0, 3.0, 5.0, 9.0]


def test_both_clients_observe_identical_results(live_server, tmp_path):
    stock = pycrayon_workflow(pycrayon.CrayonClient, live_server.url, tmp_path)
    ours = pycrayon_workflow(CrayonClient, live_server.url, tmp_path)
    assert ours == stock


@pytest.mark.parametrize("client_class", CLIENTS.values(), ids=CLIENTS.keys())
def test_token_in_url_is_accepted_and_a_wrong_one_refused(client_class, server_factory):
    server = server_factory("--token", "s3cret")
    port = _port(server.url)
    client = client_class(hostname="http://user:s3cret@127.0.0.1", port=port)
    client.create_experiment("secret run").add_scalar_value("x", 1.0, wall_time=1.0)
    assert client.get_experiment_names() == ["secret run"]
    wrong = client_class(hostname="http://user:wrong@127.0.0.1", port=port)
    with pytest.raises(ValueError, match="token"):
        wrong.get_experiment_names()


def test_names_with_reserved_url_characters_round_trip(live_server):
    # Stock pycrayon 0.5 turns "+" into a space and cuts names at "&": ours quotes them.
    client = CrayonClient("127.0.0.1", _port(live_server.url))
    xp = client.create_experiment("a+b & c=d?é")
    xp.add_scalar_value("loss/train+val & more", 1.5, wall_time=5.0)
    xp.add_histogram_value("w/#1", [1.0], tobuild=True, wall_time=6.0)
    assert client.get_experiment_names() == ["a+b & c=d?é"]
    assert xp.get_scalar_names() == ["loss/train+val & more"]
    assert xp.get_scalar_values("loss/train+val & more") == [[5.0, 0, 1.5]]
    assert client.open_experiment("a+b & c=d?é").hist_steps == {"w/#1": 1}


def test_histogram_steps_are_counted_apart_from_scalars(live_server):
    # Stock pycrayon shares the scalar counter and repeats an explicit step; ours does not.
    client = CrayonClient("127.0.0.1", _port(live_server.url))
    xp = client.create_experiment("steps")
    xp.add_scalar_value("same", 1.0)
    xp.add_histogram_value("same", [1.0], tobuild=True)
    xp.add_histogram_value("same", [1.0], tobuild=True, step=7)
    xp.add_histogram_value("same", [1.0], tobuild=True)
    assert [row[1] for row in xp.get_histogram_values("same")] == [0, 7, 8]
    assert client.open_experiment("steps").hist_steps == {"same": 9}


def test_errors_carry_status_and_the_bridges_message(live_server):
    client = CrayonClient("127.0.0.1", _port(live_server.url))
    with pytest.raises(CrayonError, match="unknown experiment 'nope'") as info:
        client.open_experiment("nope")
    assert info.value.status == 404
    with pytest.raises(ValueError, match="already exists"):
        client.create_experiment("twice")
        client.create_experiment("twice")


def test_add_scalar_dict_is_one_all_or_nothing_request(live_server):
    client = CrayonClient("127.0.0.1", _port(live_server.url))
    xp = client.create_experiment("dict")
    with pytest.raises(ValueError, match="metric name"):
        xp.add_scalar_dict({"good": 1.0, "x" * 5000: 2.0}, wall_time=1.0)
    assert xp.get_scalar_names() == []
    xp.add_scalar_dict({"a": 1.0, "b": 2.0}, wall_time=2.0)
    assert xp.get_scalar_values("a") == [[2.0, 0, 1.0]]


def test_unreachable_server_is_a_value_error():
    with pytest.raises(ValueError, match="does not appear to be up"):
        CrayonClient("127.0.0.1", 1)


def test_experiment_constructor_keeps_pycrayons_signature(live_server, tmp_path):
    client = CrayonClient("127.0.0.1", _port(live_server.url))
    xp = CrayonExperiment("direct", client, create=True)
    xp.add_scalar_value("m", 1.0, wall_time=1.0)
    path = xp.to_zip(str(tmp_path / "direct"))
    assert Path(path).read_bytes()[:2] == b"PK"
    copy = CrayonExperiment("copy", client, zip_file=path, create=True)
    assert copy.get_scalar_values("m") == [[1.0, 0, 1.0]]
