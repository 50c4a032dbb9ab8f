"""The README's API table lists every route the app serves, and the commands a user needs."""

from __future__ import annotations

import re
from pathlib import Path

from crayon_bridge.app import OPS_ROUTES, ROUTES

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_readme_api_table_lists_every_route():
    documented = set(re.findall(r"^\| (GET|POST|DELETE) \| `([^`]+)` \|", README, re.M))
    served = {(route.method, route.path) for route in [*ROUTES, *OPS_ROUTES]}
    assert served <= documented, f"undocumented routes: {served - documented}"
    assert documented <= served, f"documented but not served: {documented - served}"


def test_readme_shows_the_two_setup_commands():
    assert "make run" in README and "make test" in README
