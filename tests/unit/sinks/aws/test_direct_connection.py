"""When an output's requests go out on a connection of its own, and with which certificate
checks: only where botocore's pool would connect directly, checking what the pool checks."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from logtide.sinks.aws.client import AwsClients
from logtide.sinks.aws.wire import WireConnection
from logtide.sinks.cloudwatch_logs.options import CloudWatchSettings
from logtide.sinks.cloudwatch_logs.output import CloudWatchLogsOutput
from tests.support.built_request import offline_credentials
from tests.support.fake_kube_api import make_tls
from tests.support.plugins import settings_for


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    offline_credentials(monkeypatch)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


async def direct(**options: str) -> WireConnection | None:
    settings = CloudWatchSettings.bind(
        settings_for(
            CloudWatchLogsOutput,
            log_group_name="g",
            log_stream_name="s",
            region="eu-west-1",
            **options,
        )
    )
    clients = AwsClients(settings)
    try:
        return clients.direct_connection(await clients.client("logs"))
    finally:
        await clients.close()


def context(wire: WireConnection | None) -> ssl.SSLContext | None:
    assert wire is not None
    return wire._tls


async def test_a_plain_endpoint_gets_a_connection_without_tls() -> None:
    wire = await direct(endpoint="http://127.0.0.1:4566")
    assert wire is not None and wire.url == "http://127.0.0.1:4566" and context(wire) is None


async def test_aws_endpoints_check_the_certificate_and_the_name() -> None:
    tls = context(await direct())
    assert tls is not None
    assert tls.verify_mode == ssl.CERT_REQUIRED and tls.check_hostname
    # botocore's bundle, not only the system's store: it holds Amazon's roots.
    assert tls.cert_store_stats()["x509_ca"] > 0


async def test_tls_verify_off_and_a_ca_file_are_honoured(tmp_path: Path) -> None:
    unchecked = context(await direct(**{"tls.verify": "Off"}))
    assert unchecked is not None and unchecked.verify_mode == ssl.CERT_NONE
    files = make_tls(tmp_path)
    own_ca = context(await direct(**{"tls.ca_file": str(files.ca_file)}))
    assert own_ca is not None and own_ca.verify_mode == ssl.CERT_REQUIRED
    assert own_ca.cert_store_stats()["x509_ca"] == 1


@pytest.mark.parametrize("name", ["AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE"])
async def test_the_environment_s_bundle_is_the_bundle_checked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    monkeypatch.setenv(name, str(make_tls(tmp_path).ca_file))
    tls = context(await direct())
    assert tls is not None and tls.cert_store_stats()["x509_ca"] == 1


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "https_proxy"])
async def test_behind_a_proxy_the_clients_pool_carries_the_requests(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "http://127.0.0.1:3128")
    assert await direct() is None
    # NO_PROXY exempts the endpoint: botocore's pool would connect directly, so do we.
    monkeypatch.setenv("NO_PROXY", "amazonaws.com")
    assert await direct() is not None


async def test_a_proxy_for_the_other_scheme_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:3128")
    assert await direct() is not None
    assert await direct(endpoint="http://logs.example.internal:4566") is None
