"""AWS SigV4 for Amazon OpenSearch Service (``es``) and OpenSearch Serverless (``aoss``),
signed by botocore's own ``SigV4Auth``.

Credentials come from the standard chain (``AWS_Profile``, IRSA, instance metadata), or
``AWS_Role_ARN`` assumed through STS; botocore renews temporary ones before they expire.
As Fluent Bit does, the signed ``Host`` has no port, and the body's SHA-256 travels in
``X-Amz-Content-SHA256`` (which OpenSearch Serverless requires).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import NoCredentialsError

from logtide.agent.core.errors import RetryableDeliveryError
from logtide.sinks.aws.client import new_session
from logtide.sinks.opensearch.options import OpenSearchSettings


def sign(
    credentials: Any,
    region: str,
    service: str,
    url: str,
    host: str,
    headers: dict[str, str],
    payload: bytes,
) -> dict[str, str]:
    """``headers`` plus ``Host``, ``X-Amz-Date``, ``X-Amz-Content-SHA256``,
    ``X-Amz-Security-Token`` (temporary credentials) and ``Authorization``, for a POST of
    ``payload`` to ``url``."""
    signed = {**headers, "Host": host, "X-Amz-Content-SHA256": hashlib.sha256(payload).hexdigest()}
    request = AWSRequest(method="POST", url=url, data=payload, headers=signed)
    SigV4Auth(credentials, service, region).add_auth(request)
    return dict(request.headers.items())


class Signer:
    """Signs each request with the output's current AWS credentials."""

    def __init__(self, settings: OpenSearchSettings) -> None:
        self._settings = settings
        self._credentials: Any = None

    async def _current(self) -> Any:
        # Blocking (STS, instance metadata, a renewal near expiry): off the event loop.
        return await asyncio.to_thread(self._frozen)

    def _frozen(self) -> Any:
        s = self._settings
        if self._credentials is None:
            session = new_session(
                s.aws_region or "",
                # Naming "default" would drop the environment's keys from botocore's chain;
                # Fluent Bit's chain reads them first, so the default profile is left implicit.
                None if s.aws_profile in (None, "", "default") else s.aws_profile,
                s.aws_role_arn,
                s.aws_external_id,
                s.aws_sts_endpoint,
                # STS's certificate is checked against the output's CA whatever tls.verify
                # says, as Fluent Bit's STS provider is given the output's CA.
                s.tls_ca_file or s.tls_ca_path,
            )
            self._credentials = session.get_credentials()
            if self._credentials is None:
                raise NoCredentialsError()
        return self._credentials.get_frozen_credentials()

    async def headers(
        self, url: str, host: str, headers: dict[str, str], payload: bytes
    ) -> dict[str, str]:
        try:
            frozen = await self._current()
        except Exception as exc:
            # No credentials yet (IRSA token not mounted, IMDS slow): one line, and retried.
            self._credentials = None
            raise RetryableDeliveryError(f"AWS_Auth: no AWS credentials: {exc}") from None
        s = self._settings
        return sign(frozen, s.aws_region or "", s.aws_service_name, url, host, headers, payload)
