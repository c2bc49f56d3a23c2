"""The ``aws`` filter's options (Fluent Bit's filter_aws, plus ``imds_endpoint``) and the
settings class they bind to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from logtide.agent.core.common_options import COMMON_FILTER_OPTIONS, FilterSettings
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import Option

DEFAULT_ENDPOINT = "http://169.254.169.254"

AWS_OPTIONS: tuple[Option, ...] = (
    *COMMON_FILTER_OPTIONS,
    Option(
        "imds_version",
        "enum",
        "v2",
        "Instance metadata service version: v2 (session token) or v1 (plain GETs).",
        choices=("v1", "v2"),
    ),
    Option("az", "bool", True, "Add the availability zone as 'az'."),
    Option("ec2_instance_id", "bool", True, "Add the instance id as 'ec2_instance_id'."),
    Option("ec2_instance_type", "bool", False, "Add the instance type as 'ec2_instance_type'."),
    Option("private_ip", "bool", False, "Add the private IPv4 address as 'private_ip'."),
    Option("vpc_id", "bool", False, "Add the VPC id (of the primary interface) as 'vpc_id'."),
    Option("ami_id", "bool", False, "Add the image id as 'ami_id'."),
    Option("account_id", "bool", False, "Add the account id as 'account_id'."),
    Option("hostname", "bool", False, "Add the private DNS hostname as 'hostname'."),
    Option(
        "tags_enabled",
        "bool",
        False,
        "Add the instance's tags (needs instance metadata tags enabled on the instance).",
    ),
    Option("tags_include", "list", [], "Only these tag keys (comma-separated)."),
    Option("tags_exclude", "list", [], "Every tag key but these (comma-separated)."),
    Option(
        "retry_interval_s",
        "int",
        300,
        "Seconds before fields that could not be fetched are asked for again.",
    ),
    Option(
        "enable_entity",
        "bool",
        False,
        "Also add aws_entity_ec2_instance_id and aws_entity_account_id.",
    ),
    Option(
        "imds_endpoint",
        "str",
        DEFAULT_ENDPOINT,
        "Base URL of the instance metadata service (logtide addition, for tests).",
        nonempty=True,
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AwsSettings(FilterSettings):
    imds_version: Literal["v1", "v2"]
    az: bool
    ec2_instance_id: bool
    ec2_instance_type: bool
    private_ip: bool
    vpc_id: bool
    ami_id: bool
    account_id: bool
    hostname: bool
    tags_enabled: bool
    tags_include: list[str]
    tags_exclude: list[str]
    retry_interval_s: int
    enable_entity: bool
    imds_endpoint: str

    def __post_init__(self) -> None:
        FilterSettings.__post_init__(self)
        if self.tags_include and self.tags_exclude:
            raise ConfigError(
                "filter 'aws': tags_include and tags_exclude cannot both be set",
                self.location,
            )
        if self.retry_interval_s < 0:
            raise ConfigError(
                "filter 'aws': retry_interval_s must be >= 0", self.where("retry_interval_s")
            )
        if not self.imds_endpoint.startswith(("http://", "https://")):
            raise ConfigError(
                "filter 'aws': imds_endpoint must start with http:// or https://, "
                f"got {self.imds_endpoint!r}",
                self.where("imds_endpoint"),
            )
