"""The opensearch/es output over real HTTP to the local bulk server
(``tests/support/bulk_server.py``: no OpenSearch runs here; it enforces the documented
``_bulk`` request and answer): per-item outcomes, auth, gzip, SigV4 checked by botocore."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials

from logtide.agent.companions.local_aws import moto_server
from logtide.agent.core.errors import RetryableDeliveryError
from logtide.agent.core.events import Event
from logtide.agent.core.plugins import PluginContext
from logtide.sinks.opensearch import ElasticsearchOutput, OpenSearchOutput
from tests.support.bulk_server import BulkServer, SigV4Check
from tests.support.fake_kube_api import make_tls
from tests.support.moto_server import MotoServer
from tests.support.plugins import build, plugin_context

T = 1_772_600_767.25


@pytest.fixture
def server() -> Iterator[BulkServer]:
    running = BulkServer().start()
    yield running
    running.stop()


async def started(
    plugin: type[OpenSearchOutput], context: PluginContext, **options: str
) -> OpenSearchOutput:
    output = build(plugin, context, **options)
    await output.start()
    return output


def events(n: int) -> list[Event]:
    return [(T + i, {"n": i, "log": f"line {i}"}) for i in range(n)]


async def deliver(server: BulkServer, batch: list[Event], **options: Any) -> dict[str, int]:
    """Flush as the engine's runner does: again with what comes back, until accepted."""
    async with plugin_context() as context:
        output = await started(
            OpenSearchOutput, context, Host="127.0.0.1", Port=str(server.port), **options
        )
        pending = batch
        try:
            for _ in range(5):
                try:
                    await output.flush("app", pending)
                    break
                except RetryableDeliveryError as exc:
                    assert exc.remaining is not None
                    pending = exc.remaining
            else:
                raise AssertionError("never accepted")
        finally:
            await output.stop()
        return dict(context.metrics.snapshot().get("test.0", {}))


def ns(server: BulkServer) -> list[int]:
    return sorted(int(doc["n"]) for doc in server.documents())


def test_only_429_items_are_sent_again_and_400_items_are_dropped_with_reason(
    server: BulkServer, caplog: pytest.LogCaptureFixture
) -> None:
    refused: set[int] = set()

    def reject(index: str, doc: dict[str, Any]) -> int | None:
        n = doc["n"]
        if n % 10 == 3:
            return 400
        if n % 10 == 7 and n not in refused:
            refused.add(n)
            return 429
        return None

    server.reject = reject
    caplog.set_level(logging.WARNING)
    metrics = asyncio.run(deliver(server, events(50), Generate_ID="On", Trace_Error="On"))
    assert ns(server) == [n for n in range(50) if n % 10 != 3]
    assert max(server.indexed.values()) == 1  # nothing indexed twice
    assert len(server.requests) == 2  # the 5 refused items went again, alone
    assert metrics["dropped_records"] == 5
    assert "5 of 50 documents rejected and dropped (5 x 400 mapper_parsing_exception" in caplog.text
    assert '"n":3,' in caplog.text  # Trace_Error shows the document


def test_413_halves_the_request_and_drops_only_a_document_too_large_alone(
    server: BulkServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.max_body = 2000
    batch = events(20)
    batch[13] = (T, {"n": 13, "log": "x" * 5000})
    caplog.set_level(logging.WARNING)
    metrics = asyncio.run(deliver(server, batch))
    assert ns(server) == [n for n in range(20) if n != 13]
    assert metrics["dropped_records"] == 1
    assert "document dropped: the server takes no request that large" in caplog.text


def test_a_resend_with_generate_id_does_not_duplicate(server: BulkServer) -> None:
    batch = events(20)
    asyncio.run(deliver(server, batch, Generate_ID="On", Logstash_Format="On"))
    metrics = asyncio.run(deliver(server, batch, Generate_ID="On", Logstash_Format="On"))
    assert len(server.documents()) == 20
    assert metrics["already_indexed"] == 20


def test_basic_auth_401_is_one_clear_retryable_line(server: BulkServer) -> None:
    server.require_basic = ("elastic", "s3cret")

    async def once(**options: str) -> None:
        async with plugin_context() as context:
            output = await started(OpenSearchOutput, context, Port=str(server.port), **options)
            try:
                await output.flush("app", events(3))
            finally:
                await output.stop()

    with pytest.raises(RetryableDeliveryError, match=r"status=401.*\(check HTTP_User") as caught:
        asyncio.run(once(HTTP_User="elastic", HTTP_Passwd="wrong"))
    assert "\n" not in str(caught.value)
    asyncio.run(once(HTTP_User="elastic", HTTP_Passwd="s3cret"))
    assert ns(server) == [0, 1, 2]


def test_gzip_body_and_path_and_es_name(server: BulkServer) -> None:
    async def run() -> None:
        async with plugin_context() as context:
            output = await started(
                ElasticsearchOutput,
                context,
                Port=str(server.port),
                Path="/proxy",
                compress="gzip",
                Suppress_Type_Name="On",
            )
            await output.flush("app", events(4))
            await output.stop()

    asyncio.run(run())
    assert server.requests[0]["content-encoding"] == "gzip"
    assert ns(server) == [0, 1, 2, 3]


def test_tls_with_the_ca_delivers_and_without_it_is_one_retryable_line(tmp_path: Path) -> None:
    files = make_tls(tmp_path)
    server = BulkServer(tls=files).start()
    try:
        asyncio.run(deliver(server, events(2), tls="On", tls__ca_file=str(files.ca_file)))
        assert ns(server) == [0, 1]

        async def untrusted() -> None:
            async with plugin_context() as context:
                output = await started(OpenSearchOutput, context, Port=str(server.port), tls="On")
                try:
                    with pytest.raises(RetryableDeliveryError, match="certificate") as caught:
                        await output.flush("app", events(2))
                    assert caught.value.remaining is not None and len(caught.value.remaining) == 2
                finally:
                    await output.stop()

        asyncio.run(untrusted())
    finally:
        server.stop()


def test_server_down_then_up_loses_nothing(server: BulkServer) -> None:
    port = server.port
    server.stop()

    async def run() -> None:
        async with plugin_context() as context:
            output = await started(OpenSearchOutput, context, Port=str(port), Generate_ID="On")
            with pytest.raises(RetryableDeliveryError, match="cannot connect") as caught:
                await output.flush("app", events(10))
            assert caught.value.remaining is not None and len(caught.value.remaining) == 10
            back = BulkServer(port).start()
            try:
                await output.flush("app", caught.value.remaining)
            finally:
                await output.stop()
                back.stop()
            assert len(back.documents()) == 10

    asyncio.run(run())


def test_sigv4_signature_is_botocores_for_the_received_request(
    server: BulkServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    right = ReadOnlyCredentials(
        "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token"
    )
    for service, extra in (("es", {}), ("aoss", {"compress": "gzip"})):
        server.sigv4 = SigV4Check(right, "eu-west-1", service)
        asyncio.run(
            deliver(
                server,
                events(3),
                AWS_Auth="On",
                AWS_Region="eu-west-1",
                AWS_Service_Name=service,
                **extra,
            )
        )
        assert server.sigv4.checked == 1 and server.sigv4.failures == []
        assert server.requests[-1].get("content-encoding") == extra.get("compress")
        assert server.requests[-1]["host"] == "127.0.0.1"  # signed without the port
    assert len(server.documents()) == 6  # no _id: each run indexed its own copies


def test_sigv4_with_other_credentials_is_refused_by_the_check(
    server: BulkServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    server.sigv4 = SigV4Check(ReadOnlyCredentials("AKIDEXAMPLE", "secret", None), "eu-west-1", "es")

    async def run() -> None:
        async with plugin_context() as context:
            output = await started(
                OpenSearchOutput,
                context,
                Port=str(server.port),
                AWS_Auth="On",
                AWS_Region="eu-west-1",
            )
            try:
                with pytest.raises(RetryableDeliveryError, match="status=403"):
                    await output.flush("app", events(1))
            finally:
                await output.stop()

    asyncio.run(run())
    assert server.sigv4.failures == ["signature mismatch"]


def test_aws_role_arn_signs_with_the_roles_session_from_sts(
    server: BulkServer, moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_Role_ARN through AWS_STS_Endpoint (moto's STS): the requests are signed with the
    assumed role's temporary key, not the environment's (whose signature the check accepts,
    so a signature by the environment's key would pass and fail this test)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDSOURCE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "source-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    server.sigv4 = SigV4Check(
        ReadOnlyCredentials("AKIDSOURCE", "source-secret", None), "us-east-1", "es", enforce=False
    )
    asyncio.run(
        deliver(
            server,
            events(2),
            AWS_Auth="On",
            AWS_Region="us-east-1",
            AWS_Role_ARN="arn:aws:iam::123456789012:role/indexer",
            AWS_External_ID="ext-1",
            AWS_STS_Endpoint=moto.endpoint,
        )
    )
    assert server.sigv4.keys and not any(k.startswith("AKIDSOURCE") for k in server.sigv4.keys)
    assert server.sigv4.failures  # not the source key's signature
    assert all("x-amz-security-token" in r for r in server.requests)


def test_aws_role_arn_checks_sts_against_the_outputs_ca_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STS on HTTPS with a certificate of a test CA: the output's ``tls.ca_file`` is the
    bundle STS is checked against, as Fluent Bit's STS provider takes the output's CA (the
    stock bundle knows no such CA, so the role could not be assumed without it)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDSOURCE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "source-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    files = make_tls(tmp_path, ("127.0.0.1",))
    server = BulkServer(tls=files).start()
    server.sigv4 = SigV4Check(
        ReadOnlyCredentials("AKIDSOURCE", "source-secret", None), "us-east-1", "es", enforce=False
    )
    try:
        with moto_server((str(files.cert_file), str(files.key_file))) as sts:
            asyncio.run(
                deliver(
                    server,
                    events(2),
                    tls="On",
                    tls__ca_file=str(files.ca_file),
                    AWS_Auth="On",
                    AWS_Region="us-east-1",
                    AWS_Role_ARN="arn:aws:iam::123456789012:role/indexer",
                    AWS_STS_Endpoint=sts.endpoint,
                )
            )
    finally:
        server.stop()
    assert ns(server) == [0, 1]
    assert all("x-amz-security-token" in r for r in server.requests)


def test_trace_output_prints_the_bulk_body(
    server: BulkServer, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(deliver(server, events(2), Trace_Output="On", Index="traced"))
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == '{"create":{"_index":"traced","_type":"_doc"}}'
    assert printed[1].startswith('{"@timestamp":"2026-03-04T05:06:07.250Z","n":0,')
    assert len(printed) == 4
