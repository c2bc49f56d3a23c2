"""Fluent Bit's ``port`` on an AWS output's endpoint."""

from __future__ import annotations

from logtide.sinks.aws.client import service_endpoint


def test_port_goes_on_the_endpoint_or_the_regional_default() -> None:
    assert service_endpoint(None, "kinesis", "us-east-1", None) is None
    assert (
        service_endpoint("kinesis.local", "kinesis", "us-east-1", None) == "https://kinesis.local"
    )
    assert (
        service_endpoint("kinesis.local", "kinesis", "us-east-1", 4443)
        == "https://kinesis.local:4443"
    )
    assert (
        service_endpoint("http://127.0.0.1", "kinesis", "us-east-1", 8080)
        == "http://127.0.0.1:8080"
    )
    # An endpoint that names its port keeps it.
    assert (
        service_endpoint("http://127.0.0.1:5000", "kinesis", "us-east-1", 8080)
        == "http://127.0.0.1:5000"
    )
    assert (
        service_endpoint(None, "kinesis", "eu-west-1", 444)
        == "https://kinesis.eu-west-1.amazonaws.com:444"
    )
    assert (
        service_endpoint(None, "kinesis", "cn-north-1", 444)
        == "https://kinesis.cn-north-1.amazonaws.com.cn:444"
    )
