"""The dependency floors in pyproject.toml keep out releases with published advisories."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
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


def test_installed_aiohttp_meets_our_floor() -> None:
    assert _requirement("aiohttp").specifier.contains(version("aiohttp"))


# -- ranges in pyproject.toml, exact versions in constraints.txt -------------------------------

ROOT = PYPROJECT.parent
CONSTRAINTS = ROOT / "constraints.txt"


def _declared() -> dict[str, list[Requirement]]:
    """The core dependencies ("") and each extra's, as requirements."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    found = {"": [Requirement(r) for r in project["dependencies"]]}
    for extra, listed in project["optional-dependencies"].items():
        found[extra] = [Requirement(r) for r in listed]
    return found


def _pinned() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, exact = line.partition("==")
            assert exact, f"constraints.txt: {line!r} is not an exact pin"
            pins[canonicalize_name(name)] = Version(exact)
    return pins


def test_pyproject_declares_ranges_not_pins() -> None:
    for extra, requirements in _declared().items():
        for requirement in requirements:
            operators = {spec.operator for spec in requirement.specifier}
            assert not operators & {"==", "==="}, f"[{extra or 'core'}] pins {requirement}"
            assert requirement.specifier, f"[{extra or 'core'}] {requirement} has no range"


def test_constraints_pin_every_dependency_within_its_range() -> None:
    pins = _pinned()
    for extra, requirements in _declared().items():
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            assert name in pins, f"[{extra or 'core'}] {requirement.name} not in constraints.txt"
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"constraints.txt has {name}=={pins[name]}, outside {requirement}"
            )


def test_makefile_and_dockerfile_install_from_the_constraints() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "CONSTRAINTS := constraints.txt" in makefile
    assert re.search(r"^PIP := .*pip install .*-c \$\(CONSTRAINTS\)", makefile, re.M)
    installs = [line.strip() for line in makefile.splitlines() if "'.[" in line]
    assert any("[demo]" in line for line in installs) and any("test" in line for line in installs)
    for line in installs:
        # Only `make lock` resolves afresh, in its scratch venv; every other install pins.
        assert line.startswith("$(PIP) ") or line.startswith(".venv-lock/"), line
    # A new lock reinstalls: the stamps depend on constraints.txt.
    for stamp in ("$(STAMP):", "$(DEMO_STAMP):"):
        rule = next(line for line in makefile.splitlines() if line.startswith(stamp))
        assert "$(CONSTRAINTS)" in rule and "pyproject.toml" in rule, rule

    dockerfile = (ROOT / "Dockerfile").read_text()
    runs = re.findall(r"python -m pip (?:install|wheel)[^\n]*", dockerfile)
    assert runs
    for command in runs:
        assert "-c constraints.txt" in command or "--no-index" in command, command
    assert re.search(r"^COPY [^\n]*constraints\.txt", dockerfile, re.M)


def test_one_zstd_library_and_boto3_only_in_the_extras_that_use_it() -> None:
    declared = _declared()
    names = {extra: {canonicalize_name(r.name) for r in reqs} for extra, reqs in declared.items()}
    assert "cramjam" in names[""] and "zstandard" not in set().union(*names.values())
    assert "boto3" not in names[""]
    importers = {
        path.relative_to(ROOT).as_posix()
        for package in ("agent", "sinks", "streamsql")
        for path in (ROOT / package).rglob("*.py")
        if re.search(r"^\s*(import|from) (boto3|zstandard)\b", path.read_text(), re.M)
    }
    # boto3 serves the demo's moto clients, `logtide athena query`'s S3 reads and the Athena
    # engine (`--engine athena`, `ddl --apply`), nothing else.
    assert importers == {
        "agent/companions/local_aws.py",
        "agent/companions/athena/objects.py",
        "agent/companions/athena/service.py",
    }
    assert {"demo", "query"} <= {extra for extra, found in names.items() if "boto3" in found}


def test_an_older_python_is_told_what_logtide_needs() -> None:
    assert tomllib.loads(PYPROJECT.read_text())["project"]["requires-python"] == ">=3.11"
    assert "Python 3.11" in (ROOT / "README.md").read_text()
    # A source checkout run directly by an older interpreter, simulated on this one.
    script = "import sys; sys.version_info = (3, 10, 14, 'final', 0); import logtide"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("ImportError: logtide needs Python 3.11 or newer")
    )
