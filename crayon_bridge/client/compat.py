"""`CrayonClient` and `CrayonExperiment`: pycrayon 0.5's API, so switching is an import change.

Differences from stock pycrayon 0.5, all fixes that keep its behaviour otherwise:
- names are percent-encoded in URLs (a `+`, `&` or `/` in a name reaches the bridge intact);
- one keep-alive connection instead of a new one per call; `add_scalar_dict` is one request;
- histograms count their auto-incremented steps on their own (stock shares the scalar counter of
  the same name, forgets the counts read by `open_experiment`, and repeats an explicit step);
- `add_histogram_value(tobuild=True)` also takes tuples, numpy arrays and tensors;
- errors carry the HTTP status and the bridge's message; all are `ValueError`s as in pycrayon
  (`CrayonConnectionError` is also a `ConnectionError`, like the `requests` errors pycrayon lets
  through); a missing zip file raises `FileNotFoundError` (an `IOError`) before any request.
"""

from __future__ import annotations

import collections
import os
import time
from typing import Any

from crayon_bridge.client._http import DEFAULT_TIMEOUT, HttpSession
from crayon_bridge.client._values import as_float_list, check_name, check_step
from crayon_bridge.client.errors import (
    CrayonConnectionError,
    CrayonError,
    IncompatibleServerError,
)

__version__ = "0.5"
_HISTOGRAM_KEYS = frozenset({"min", "max", "num", "bucket_limit", "bucket"})
_HISTOGRAM_OPTIONAL_KEYS = frozenset({"sum", "sum_squares"})
_CHUNK = 1 << 16


class CrayonClient:
    """A connection to a Crayon server, with pycrayon 0.5's constructor and methods.

    `hostname` may carry a scheme and an access token: `CrayonClient("http://x:TOKEN@host")`,
    or pass `token=`. The server is checked at once (`GET /` must answer `0.5`).
    """

    def __init__(
        self,
        hostname: str = "localhost",
        port: int = 8889,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.hostname = hostname
        self.port = port
        self.url = f"{hostname}:{port}"
        if not self.url.startswith(("http://", "https://")):
            self.url = "http://" + self.url
        self.session = HttpSession(self.url, token, timeout=timeout)
        try:
            self._check_version()
        except BaseException:
            self.session.close()
            raise

    def _check_version(self) -> None:
        try:
            version = self.session.request("GET", "/").decode("utf-8", errors="replace")
        except CrayonConnectionError as exc:
            raise CrayonConnectionError(
                f"The server at {self.session.url} does not appear to be up! ({exc})"
            ) from exc
        except CrayonError as exc:
            raise IncompatibleServerError(
                f"The server at {self.session.url} refused the version check: {exc}", exc.status
            ) from exc
        if version != __version__:
            raise IncompatibleServerError(
                f"Initialised client version {__version__}, however found server running "
                f"version {version[:40]!r} at {self.session.url}."
            )

    def close(self) -> None:
        """Close the keep-alive connection (a later call reopens it)."""
        self.session.close()

    def __enter__(self) -> CrayonClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get_experiment_names(self) -> list[str]:
        """Return the names of all experiments."""
        return self.session.get_json("/data")

    def open_experiment(self, xp_name: str) -> CrayonExperiment:
        """Open an existing experiment; auto-incremented steps continue after its last ones."""
        return CrayonExperiment(xp_name, self, create=False)

    def create_experiment(self, xp_name: str, zip_file: str | None = None) -> CrayonExperiment:
        """Create an experiment, empty or (replacing any of that name) from a `to_zip` file."""
        return CrayonExperiment(xp_name, self, zip_file=zip_file, create=True)

    def remove_experiment(self, xp_name: str) -> None:
        """Delete an experiment and all its data."""
        self.session.request("DELETE", "/data", {"xp": check_name(xp_name, "experiment name")})

    def remove_all_experiments(self) -> None:
        """Delete every experiment."""
        for xp_name in self.get_experiment_names():
            self.remove_experiment(xp_name)


class CrayonExperiment:
    """One experiment: log and read scalars and histograms, back it up as a zip."""

    def __init__(
        self,
        xp_name: str,
        client: CrayonClient,
        zip_file: str | None = None,
        create: bool = False,
    ) -> None:
        self.client = client
        self.xp_name = check_name(xp_name, "experiment name")
        self.scalar_steps: collections.defaultdict[str, int] = collections.defaultdict(int)
        self.hist_steps: collections.defaultdict[str, int] = collections.defaultdict(int)
        self._session = client.session
        self._xp = {"xp": self.xp_name}
        if zip_file:
            if not create:
                raise ValueError("Can only create a new experiment when a zip_file is provided")
            self._init_from_file(zip_file)
        elif create:
            self._session.send_json("POST", "/data", payload=self.xp_name)
        else:
            self._init_from_existing()

    def _init_from_existing(self) -> None:
        info = self._session.get_json("/data", self._xp)
        for name in info["scalars"]:
            self._continue_steps(self.scalar_steps, name, self.get_scalar_values(name))
        for name in info["histograms"]:
            self._continue_steps(self.hist_steps, name, self.get_histogram_values(name))

    @staticmethod
    def _continue_steps(steps: dict[str, int], name: str, values: list[Any]) -> None:
        if values:
            steps[name] = values[-1][1] + 1

    def _init_from_file(self, zip_file: str) -> None:
        with open(zip_file, "rb") as fileobj:
            size = os.fstat(fileobj.fileno()).st_size
            params = {**self._xp, "force": True}
            with self._session.stream(
                "POST", "/backup", params, fileobj, "application/zip", size
            ) as response:
                self._session.read_chunk(response, None)

    def _metric(self, name: str) -> dict[str, str]:
        return {**self._xp, "name": check_name(name, "metric name")}

    @staticmethod
    def _next_step(steps: dict[str, int], name: str, step: int) -> int:
        """pycrayon's rule: step -1 takes the next one; an explicit step sets where it goes on."""
        if step == -1:
            step = steps[name]
        step = check_step(step)
        steps[name] = step + 1
        return step

    @staticmethod
    def _wall_time(wall_time: float) -> float:
        return time.time() if wall_time == -1 else float(wall_time)

    # Scalars
    def get_scalar_names(self) -> list[str]:
        """Return the names of the experiment's scalar metrics."""
        return self._names("scalars")

    def add_scalar_value(
        self, name: str, value: float, wall_time: float = -1, step: int = -1
    ) -> None:
        """Add one scalar point; step -1 means the metric's next step."""
        params = self._metric(name)
        point = [self._wall_time(wall_time), self._next_step(self.scalar_steps, name, step)]
        self._session.send_json("POST", "/data/scalars", params, [*point, float(value)])

    def add_scalar_dict(
        self, data: dict[str, float], wall_time: float = -1, step: int = -1
    ) -> None:
        """Add one point to each metric in `data`, in one request (all or nothing)."""
        for name in data:
            if not isinstance(name, str):
                raise ValueError(f"Scalar name should be a string, got: {name}.")
        if not data:
            return
        wall_time = self._wall_time(wall_time)
        batch = {
            check_name(name, "metric name"): [
                [wall_time, self._next_step(self.scalar_steps, name, step), float(value)]
            ]
            for name, value in data.items()
        }
        self._session.send_json("POST", "/data/scalars", self._xp, batch)

    def get_scalar_values(self, name: str) -> list[list[float]]:
        """Return the metric's points as `[wall_time, step, value]` lists, in logging order."""
        return self._session.get_json("/data/scalars", self._metric(name))

    # Histograms
    def get_histogram_names(self) -> list[str]:
        """Return the names of the experiment's histogram metrics."""
        return self._names("histograms")

    def add_histogram_value(
        self,
        name: str,
        hist: Any,
        tobuild: bool = False,
        wall_time: float = -1,
        step: int = -1,
    ) -> None:
        """Add a histogram: a dict (min, max, num, bucket_limit, bucket, ...) or, with
        `tobuild=True`, the raw values for the bridge to bucket."""
        if tobuild:
            if isinstance(hist, (dict, str, bytes)):
                raise ValueError("Data was not provided in a valid format!")
            hist = as_float_list(hist)
        elif not (isinstance(hist, dict) and self._valid_histogram(hist)):
            raise ValueError("Data was not provided in a valid format!")
        params = {**self._metric(name), "tobuild": bool(tobuild)}
        point = [self._wall_time(wall_time), self._next_step(self.hist_steps, name, step), hist]
        self._session.send_json("POST", "/data/histograms", params, point)

    @staticmethod
    def _valid_histogram(hist: dict[str, Any]) -> bool:
        keys = set(hist)
        return keys >= _HISTOGRAM_KEYS and keys <= _HISTOGRAM_KEYS | _HISTOGRAM_OPTIONAL_KEYS

    def get_histogram_values(self, name: str) -> list[list[Any]]:
        """Return the metric's histograms as `[wall_time, step, [min, max, num, sum,
        sum_squares, bucket_limit, bucket]]` lists."""
        return self._session.get_json("/data/histograms", self._metric(name))

    # Backups
    def to_zip(self, filename: str | None = None) -> str:
        """Save the experiment as `<filename>.zip` (pycrayon's naming) and return that path."""
        if not filename:
            safe_name = self.xp_name.replace(os.sep, "_").replace("/", "_")
            filename = f"backup_{safe_name}_{time.time()}"
        path = filename + ".zip"
        with self._session.stream("GET", "/backup", self._xp) as response, open(path, "wb") as out:
            while chunk := self._session.read_chunk(response, _CHUNK):
                out.write(chunk)
        return path

    def _names(self, kind: str) -> list[str]:
        return self._session.get_json("/data", self._xp)[kind]
