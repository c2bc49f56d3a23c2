"""The dependency floors in pyproject.toml keep out releases with published advisories."""

from __future__ import annotations

import tomllib
from importlib.metadata import requires, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
# aiohttp releases that fixed a server-side advisory (the monitoring server is aiohttp.web):
# lenient parsing / request smuggling, chunk extensions, trailers, multiple Host headers,
# no header-read timeout.
AIOHTTP_FIXES = ["3.9.2", "3.10.11", "3.12.14", "3.13.4", "3.14.5"]


def _requirement(name: str) -> Requirement:
    data = tomllib.loads(PYPROJECT.read_text())
    found = [Requirement(r) for r in data["project"]["dependencies"]]
    return next(r for r in found if r.name == name)


def test_aiohttp_floor_admits_no_release_with_a_known_advisory() -> None:
    floor = _requirement("aiohttp").specifier
    newest_fix = max(Version(v) for v in AIOHTTP_FIXES)
    assert not floor.contains(Version("3.14.4"))
    assert all(not floor.contains(f"{fix}.dev0") for fix in AIOHTTP_FIXES)
    assert floor.contains(newest_fix)


def test_installed_aiohttp_meets_our_floor_and_aiobotocores() -> None:
    installed = version("aiohttp")
    assert _requirement("aiohttp").specifier.contains(installed)
    theirs = [Requirement(r) for r in requires("aiobotocore") or []]
    for requirement in theirs:
        if requirement.name == "aiohttp":
            assert requirement.specifier.contains(installed)
