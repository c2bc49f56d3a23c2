"""aiobotocore clients for the AWS outputs, built from Fluent Bit's AWS options.

Credentials always come from the standard AWS chain (environment, profile, IRSA web
identity, instance metadata), optionally exchanged for ``role_arn`` through STS. They are
never read from the config file and never logged.

Every credential is refreshable: clients are never given fixed keys, so botocore renews
temporary credentials (an STS session, an IRSA token exchange, instance metadata) before
they expire, for as long as the agent runs. ``role_arn`` sessions are renewed the same way
(a new AssumeRole 15 minutes before the current session ends), from source credentials that
are themselves refreshed.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiobotocore.config import AioConfig
from aiobotocore.credentials import (
    AioAssumeRoleCredentialFetcher,
    AioCredentialResolver,
    AioDeferredRefreshableCredentials,
)
from aiobotocore.session import AioSession
from botocore.credentials import CredentialProvider
from botocore.exceptions import NoCredentialsError

from logtide.agent.core.common_options import OutputSettings
from logtide.agent.core.options import Option
from logtide.sinks.aws.models import shared_loader

AWS_OPTIONS: tuple[Option, ...] = (
    Option("region", "str", None, "AWS region.", required=True),
    Option(
        "endpoint",
        "str",
        None,
        "Custom endpoint URL (S3-compatible store, local test server).",
        nonempty=True,
    ),
    Option("role_arn", "str", None, "IAM role to assume through STS."),
    Option("external_id", "str", None, "External ID for the STS AssumeRole call."),
    Option("sts_endpoint", "str", None, "Custom STS endpoint URL.", nonempty=True),
    Option("profile", "str", None, "Shared-credentials profile to use."),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AwsSettings(OutputSettings):
    """The fields of :data:`AWS_OPTIONS`; every AWS output's settings class extends it."""

    region: str
    endpoint: str | None
    role_arn: str | None
    external_id: str | None
    sts_endpoint: str | None
    profile: str | None


def _endpoint_url(raw: str | None, tls: bool = True) -> str | None:
    """Fluent Bit accepts a bare host for ``endpoint``; botocore needs a URL."""
    if not raw:
        return None
    if "://" in raw:
        return raw
    return ("https://" if tls else "http://") + raw


def service_endpoint(raw: str | None, service: str, region: str, port: int | None) -> str | None:
    """The endpoint URL with Fluent Bit's ``port`` applied: to ``endpoint`` when that names
    no port of its own, else to the service's regional endpoint (``None``: botocore's)."""
    url = _endpoint_url(raw)
    if not port:
        return url
    if url is None:
        suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
        return f"https://{service}.{region}{suffix}:{port}"
    parts = urlsplit(url)
    if parts.port is not None:
        return url
    return urlunsplit(parts._replace(netloc=f"{parts.netloc}:{port}"))


class _AssumedRole(CredentialProvider):
    """The one link of the clients' credential chain when ``role_arn`` is set."""

    METHOD = "assume-role"
    CANONICAL_NAME = "custom-logtide-assume-role"

    def __init__(self, credentials: AioDeferredRefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    async def load(self) -> AioDeferredRefreshableCredentials:
        return self._credentials


def _profile_session(profile: str | None) -> AioSession:
    session = AioSession(profile=profile) if profile else AioSession()
    # One loader for every session of the process, cut to what the outputs call: the
    # stock one parses botocore's data again per session (~10 MiB for s3 + logs).
    session.register_component(
        "data_loader", shared_loader(session.get_config_variable("data_path"))
    )
    return session


async def new_session(
    region: str,
    profile: str | None,
    role_arn: str | None,
    external_id: str | None,
    sts_endpoint: str | None,
) -> AioSession:
    """A session on the standard credential chain (``profile`` if given), or, with
    ``role_arn``, one whose credentials are that role's, assumed through STS and renewed
    before they expire."""
    session = _profile_session(profile)
    if not role_arn:
        return session
    source = await session.get_credentials()
    if source is None:
        raise NoCredentialsError()
    extra_args: dict[str, str] = {"RoleSessionName": "logtide"}
    if external_id:
        extra_args["ExternalId"] = external_id
    fetcher = AioAssumeRoleCredentialFetcher(
        client_creator=functools.partial(
            session.create_client,
            region_name=region,
            endpoint_url=_endpoint_url(sts_endpoint),
        ),
        source_credentials=source,
        role_arn=role_arn,
        extra_args=extra_args,
    )
    assumed = AioDeferredRefreshableCredentials(
        refresh_using=fetcher.fetch_credentials, method=_AssumedRole.METHOD
    )
    role_session = _profile_session(profile)
    role_session.register_component(
        "credential_provider", AioCredentialResolver([_AssumedRole(assumed)])
    )
    return role_session


class AwsClients:
    """Owns one aiobotocore session and the clients made from it for one output instance.

    Clients are created lazily and closed together by :meth:`close`.
    """

    def __init__(
        self, settings: AwsSettings, *, connect_timeout: float = 5.0, port: int | None = None
    ) -> None:
        self._settings = settings
        self._port = port
        self._session: AioSession | None = None
        self._stack = contextlib.AsyncExitStack()
        self._clients: dict[str, Any] = {}
        self._connect_timeout = connect_timeout

    async def _new_session(self) -> AioSession:
        settings = self._settings
        return await new_session(
            settings.region,
            settings.profile,
            settings.role_arn,
            settings.external_id,
            settings.sts_endpoint,
        )

    async def client(self, service: str, **config: Any) -> Any:
        """Return the (cached) client for ``service``; ``config`` extends the AioConfig."""
        if service in self._clients:
            return self._clients[service]
        if self._session is None:
            self._session = await self._new_session()
        aio_config = AioConfig(
            connect_timeout=self._connect_timeout,
            read_timeout=60,
            # The engine owns retries, so a failure is classified once and never multiplied.
            retries={"max_attempts": 0, "mode": "standard"},
            **config,
        )
        client = await self._stack.enter_async_context(
            self._session.create_client(
                service,
                region_name=self._settings.region,
                endpoint_url=service_endpoint(
                    self._settings.endpoint, service, self._settings.region, self._port
                ),
                config=aio_config,
            )
        )
        self._clients[service] = client
        return client

    async def close(self) -> None:
        await self._stack.aclose()
        self._clients.clear()
