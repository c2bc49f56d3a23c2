"""aiobotocore clients for the AWS outputs, built from Fluent Bit's AWS options.

Credentials always come from the standard AWS chain (environment, profile, IRSA web
identity, instance metadata), optionally exchanged for ``role_arn`` through STS. They are
never read from the config file and never logged.
"""

from __future__ import annotations

import contextlib
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session

from agent.core.options import Option, Settings

AWS_OPTIONS: tuple[Option, ...] = (
    Option("region", "str", None, "AWS region.", required=True),
    Option(
        "endpoint", "str", None, "Custom endpoint URL (S3-compatible store, local test server)."
    ),
    Option("role_arn", "str", None, "IAM role to assume through STS."),
    Option("external_id", "str", None, "External ID for the STS AssumeRole call."),
    Option("sts_endpoint", "str", None, "Custom STS endpoint URL."),
    Option("profile", "str", None, "Shared-credentials profile to use."),
)


def _endpoint_url(raw: str | None, tls: bool = True) -> str | None:
    """Fluent Bit accepts a bare host for ``endpoint``; botocore needs a URL."""
    if not raw:
        return None
    if "://" in raw:
        return raw
    return ("https://" if tls else "http://") + raw


class AwsClients:
    """Owns one aiobotocore session and the clients made from it for one output instance.

    Clients are created lazily and closed together by :meth:`close`.
    """

    def __init__(self, settings: Settings, *, connect_timeout: float = 5.0) -> None:
        self._settings = settings
        self._session: AioSession | None = None
        self._stack = contextlib.AsyncExitStack()
        self._clients: dict[str, Any] = {}
        self._connect_timeout = connect_timeout

    def _new_session(self) -> AioSession:
        profile = self._settings.get("profile")
        session = AioSession(profile=profile) if profile else get_session()
        return session

    async def _assumed_credentials(self, session: AioSession) -> dict[str, str]:
        role_arn = self._settings.get("role_arn")
        params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": "logtide"}
        if self._settings.get("external_id"):
            params["ExternalId"] = self._settings.get("external_id")
        async with session.create_client(
            "sts",
            region_name=self._settings["region"],
            endpoint_url=_endpoint_url(self._settings.get("sts_endpoint")),
        ) as sts:
            response = await sts.assume_role(**params)
        creds = response["Credentials"]
        return {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }

    async def client(self, service: str, **config: Any) -> Any:
        """Return the (cached) client for ``service``; ``config`` extends the AioConfig."""
        if service in self._clients:
            return self._clients[service]
        if self._session is None:
            self._session = self._new_session()
        credentials: dict[str, str] = {}
        if self._settings.get("role_arn"):
            credentials = await self._assumed_credentials(self._session)
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
                region_name=self._settings["region"],
                endpoint_url=_endpoint_url(self._settings.get("endpoint")),
                config=aio_config,
                **credentials,
            )
        )
        self._clients[service] = client
        return client

    async def close(self) -> None:
        await self._stack.aclose()
        self._clients.clear()
