"""The AWS outputs' ``tls.verify``, ``tls.ca_file`` and ``port``, through the real
``logtide`` process against moto served over HTTPS on 127.0.0.1 with a certificate from a
test CA (Fluent Bit's cloudwatch_logs speaks nothing but HTTPS, so its configs name a bare
host, a ``port`` and, for a local endpoint, ``tls.verify Off``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from logtide.agent.companions.local_aws import moto_server
from tests.support.cli import run_logtide
from tests.support.fake_kube_api import TlsFiles, make_tls
from tests.support.moto_server import MotoServer

GROUP = "tls-group"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("tls"), ("127.0.0.1",))


@pytest.fixture(scope="module")
def https_moto(tls: TlsFiles) -> Iterator[MotoServer]:
    with moto_server((str(tls.cert_file), str(tls.key_file))) as moto:
        yield moto


def _run(tmp_path: Path, output_lines: str) -> tuple[int, str]:
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(
        f"""
[SERVICE]
    Flush 0.2
[INPUT]
    Name    dummy
    Tag     app
    Dummy   {{"msg":"over tls"}}
    Samples 3
[OUTPUT]
    Name              cloudwatch_logs
    Match             app
    region            us-east-1
    log_group_name    {GROUP}
    log_stream_name   {tmp_path.name}
    auto_create_group On
    Retry_Limit       no_retries
{output_lines}
"""
    )
    result = run_logtide("-c", str(conf), "--once", timeout=120)
    return result.returncode, result.stderr


def _messages(moto: MotoServer, tls: TlsFiles, stream: str) -> list[str]:
    import boto3

    logs: Any = boto3.client(
        "logs", region_name=moto.region, endpoint_url=moto.endpoint, verify=str(tls.ca_file)
    )
    try:
        events = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startFromHead=True)[
            "events"
        ]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [event["message"] for event in events]


def test_bare_host_port_and_verify_off_as_fluent_bit_configs_write_them(
    https_moto: MotoServer, tls: TlsFiles, tmp_path: Path
) -> None:
    port = urlsplit(https_moto.endpoint).port
    code, stderr = _run(tmp_path, f"    endpoint 127.0.0.1\n    port {port}\n    tls.verify Off")
    assert code == 0, stderr
    assert _messages(https_moto, tls, tmp_path.name) == ['{"msg":"over tls"}'] * 3
    # urllib3's two-line warning per connection is not printed: the user asked for this.
    assert "InsecureRequestWarning" not in stderr and "warnings.warn" not in stderr


def test_ca_file_is_the_bundle_the_certificate_is_checked_against(
    https_moto: MotoServer, tls: TlsFiles, tmp_path: Path
) -> None:
    code, stderr = _run(
        tmp_path, f"    endpoint {https_moto.endpoint}\n    tls.ca_file {tls.ca_file}"
    )
    assert code == 0, stderr
    assert _messages(https_moto, tls, tmp_path.name) == ['{"msg":"over tls"}'] * 3


def test_an_unknown_certificate_is_refused_in_one_line(
    https_moto: MotoServer, tls: TlsFiles, tmp_path: Path
) -> None:
    code, stderr = _run(tmp_path, f"    endpoint {https_moto.endpoint}")
    assert code == 1
    refused = [line for line in stderr.splitlines() if "CERTIFICATE_VERIFY_FAILED" in line]
    assert refused and "Traceback" not in stderr
    assert "3 records of tag app not delivered" in stderr
    assert _messages(https_moto, tls, tmp_path.name) == []


def test_an_unreadable_ca_file_stops_the_start_in_one_line_naming_it(
    https_moto: MotoServer, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-ca.pem"
    code, stderr = _run(tmp_path, f"    endpoint {https_moto.endpoint}\n    tls.ca_file {missing}")
    assert code == 1
    assert f"cannot load the TLS files ({missing}): No such file or directory" in stderr
    assert "Traceback" not in stderr


def test_port_out_of_range_is_a_dry_run_error(tmp_path: Path) -> None:
    conf = tmp_path / "fluent-bit.conf"
    conf.write_text(
        "[INPUT]\n    Name dummy\n[OUTPUT]\n    Name cloudwatch_logs\n    Match *\n"
        "    region us-east-1\n    log_group_name g\n    log_stream_prefix p-\n"
        "    port 70000\n"
    )
    result = run_logtide("-c", str(conf), "--dry-run")
    assert result.returncode != 0
    assert f"{conf}:9: cloudwatch_logs: invalid port 70000 (use 1 to 65535)" in result.stderr
