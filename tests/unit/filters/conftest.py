"""Fixtures of the kubernetes filter's tests: the stand-ins' TLS files and token."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fake_kube_api import TOKEN, TlsFiles, make_tls


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path
