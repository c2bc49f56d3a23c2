"""The library never hangs on a pipeline that cannot start: ``running()``,
``run_in_thread()`` and the ``logtide_pipeline`` fixture raise the one-line LogtideError.

Every case runs under a deadline (a thread join, pytest-timeout, a subprocess timeout), so a
regression fails here instead of stalling the suite.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from logtide.agent.api import Pipeline
from logtide.agent.core.errors import LogtideError
from logtide.sinks.file import FileOutput
from tests.support.cli import run_logtide

pytest_plugins = ["pytester"]

DEADLINE = 60.0

# An s3 output whose region botocore refuses: the client cannot be made. (A region from an
# unset variable no longer gets this far: validation names the variable.)
BAD_REGION = """
[OUTPUT]
    Name       s3
    Match      *
    bucket     logs
    region     .
    store_dir  {store}
"""
# An s3 output whose store_dir is a regular file: the buffer cannot be opened.
STORE_IS_A_FILE = """
[OUTPUT]
    Name       s3
    Match      *
    bucket     logs
    region     us-east-1
    endpoint   http://127.0.0.1:1
    store_dir  {store}/taken
"""
CONFIGS = {"region-invalid": BAD_REGION, "store-dir-is-a-file": STORE_IS_A_FILE}


@pytest.fixture(autouse=True)
def _no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here may reach AWS: no credentials anywhere, no instance metadata."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


def config(name: str, tmp_path: Path) -> str:
    (tmp_path / "taken").write_text("not a directory\n")
    return CONFIGS[name].replace("{store}", str(tmp_path))


def _fail_to_build(monkeypatch: pytest.MonkeyPatch) -> str:
    def refuse(self: FileOutput, *args: object) -> None:
        raise OSError("no room for the file output")

    monkeypatch.setattr(FileOutput, "__init__", refuse)
    return "[OUTPUT]\n    Name  file\n    Match *\n"


def within_deadline(body: Callable[[], None]) -> BaseException | None:
    """Run ``body`` in a thread; what it raised, or fail if it is still running."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            body()
        except BaseException as exc:
            raised.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(DEADLINE)
    assert not worker.is_alive(), f"still waiting after {DEADLINE}s"
    return raised[0] if raised else None


@pytest.mark.timeout(DEADLINE)
@pytest.mark.parametrize("name", sorted(CONFIGS))
async def test_running_raises_when_the_engine_cannot_start(name: str, tmp_path: Path) -> None:
    with pytest.raises(LogtideError, match=r"\[output:s3\.0\]|s3"):
        async with Pipeline.from_string(config(name, tmp_path)).running() as p:
            p.push("app", {"log": "one"})
            await p.drain()


@pytest.mark.timeout(DEADLINE)
async def test_running_raises_when_an_output_cannot_be_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(LogtideError, match=r"\[output:file\.0\] .*no room"):
        async with Pipeline.from_string(_fail_to_build(monkeypatch)).running():
            pass


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_run_in_thread_raises_when_the_engine_cannot_start(name: str, tmp_path: Path) -> None:
    def use() -> None:
        with Pipeline.from_string(config(name, tmp_path)).run_in_thread() as p:
            p.push("app", {"log": "one"})
            p.drain()

    raised = within_deadline(use)
    assert isinstance(raised, LogtideError), repr(raised)
    assert "\n" not in str(raised)


def test_run_in_thread_raises_when_an_output_cannot_be_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = _fail_to_build(monkeypatch)

    def use() -> None:
        with Pipeline.from_string(text).run_in_thread():
            pass

    raised = within_deadline(use)
    assert isinstance(raised, LogtideError), repr(raised)
    assert "no room for the file output" in str(raised)


def test_drain_again_after_an_error_raises_it_again(tmp_path: Path) -> None:
    """The ``with`` block's exit drains a second time; it must answer, not wait."""
    pipeline = Pipeline.from_string(config("region-invalid", tmp_path))

    def use() -> None:
        with pipeline.run_in_thread() as p:
            with pytest.raises(LogtideError):
                p.drain()
            p.drain()

    assert isinstance(within_deadline(use), LogtideError)


# A tail input whose checkpoint DB cannot be opened: the outputs start, the input breaks.
TAIL_DB_UNUSABLE = """
[INPUT]
    Name  tail
    Path  {store}/*.log
    DB    {store}/taken/tail.db
[OUTPUT]
    Name  null
    Match *
"""


def test_an_input_that_breaks_while_running_is_raised_by_drain(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("not a directory\n")
    pipeline = Pipeline.from_string(TAIL_DB_UNUSABLE.replace("{store}", str(tmp_path)))

    def use() -> None:
        with pipeline.run_in_thread() as p:
            p.drain()

    raised = within_deadline(use)
    assert isinstance(raised, LogtideError), repr(raised)
    assert str(raised).startswith("[input:tail.0]"), str(raised)


FIXTURE_USER = """
import pytest

CONFIG = {config!r}


def test_pushes_and_drains(logtide_pipeline):
    p = logtide_pipeline(CONFIG)
    p.push("app", {{"log": "one"}})
    assert p.drain() == 0


def test_leaves_draining_to_teardown(logtide_pipeline):
    p = logtide_pipeline(CONFIG)
    p.push("app", {{"log": "one"}})
"""


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_fixture_fails_the_test_instead_of_hanging_teardown(
    name: str, tmp_path: Path, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(test_user=FIXTURE_USER.format(config=config(name, tmp_path)))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=DEADLINE)
    result.assert_outcomes(failed=2, errors=0)
    result.stdout.fnmatch_lines(["E * logtide.agent.core.errors.*Error: *s3*"])


def test_cli_reports_the_same_start_error_in_one_line(tmp_path: Path) -> None:
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text("[INPUT]\n    Name dummy\n    Samples 1\n" + config("region-invalid", tmp_path))
    result = run_logtide("-c", str(conf), "--once", "-q", timeout=DEADLINE)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "[output:s3.0]" in result.stderr
