"""botocore clients for the AWS outputs, built from Fluent Bit's AWS options.

Each output's calls run on a thread of its own (:mod:`logtide.sinks.aws.call_thread`) and
are awaited from the event loop: :class:`AwsClient` turns ``await client.put_object(...)``
into that. botocore's synchronous client rather than aiobotocore's: the same requests, and
the agent does not carry aiobotocore and all of aiohttp (~11 MiB of every node's RSS).

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

import functools
import os
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from botocore.config import Config
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    CredentialResolver,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import NoCredentialsError
from botocore.httpsession import get_cert_path
from botocore.session import Session
from botocore.utils import get_environ_proxies
from urllib3.exceptions import InsecureRequestWarning

from logtide.agent.core.common_options import OutputSettings, with_net_options
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.options import Option
from logtide.agent.core.tls import TlsConfig, client_context
from logtide.sinks.aws.call_thread import CallThread
from logtide.sinks.aws.models import shared_loader
from logtide.sinks.aws.wire import WireConnection

T = TypeVar("T")

AWS_OPTIONS: tuple[Option, ...] = with_net_options(
    (
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
        Option(
            "port",
            "int",
            None,
            "TCP port: put on endpoint when that names none, else on the regional endpoint.",
        ),
    )
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
    port: int | None

    def __post_init__(self) -> None:
        OutputSettings.__post_init__(self)
        if self.port is not None and not 1 <= self.port <= 65535:
            raise ConfigError(
                f"{self.name}: invalid port {self.port} (use 1 to 65535)", self.where("port")
            )


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


def certificate_check(settings: OutputSettings) -> bool | str | None:
    """botocore's ``verify`` for Fluent Bit's ``tls.verify`` and ``tls.ca_file``: no check,
    a check against that CA bundle, or botocore's own (``None``). Blocking: an unreadable
    ``tls.ca_file`` is one :class:`PluginError` line naming it, here at start rather than
    in every request's error."""
    if not settings.tls_verify:
        # urllib3 would print a two-line warning per connection; the user asked for this.
        warnings.filterwarnings("ignore", category=InsecureRequestWarning)
        return False
    if settings.tls_ca_file:
        client_context(TlsConfig(ca_file=settings.tls_ca_file))
    return settings.tls_ca_file or None


class _AssumedRole(CredentialProvider):
    """The one link of the clients' credential chain when ``role_arn`` is set."""

    METHOD = "assume-role"
    CANONICAL_NAME = "custom-logtide-assume-role"

    def __init__(self, credentials: DeferredRefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> DeferredRefreshableCredentials:
        return self._credentials


def _profile_session(profile: str | None) -> Session:
    session = Session(profile=profile) if profile else Session()
    # One loader for every session of the process, cut to what the outputs call: the
    # stock one parses botocore's data again per session (~10 MiB for s3 + logs).
    session.register_component(
        "data_loader", shared_loader(session.get_config_variable("data_path"))
    )
    return session


def new_session(
    region: str,
    profile: str | None,
    role_arn: str | None,
    external_id: str | None,
    sts_endpoint: str | None,
    ca_file: str | None = None,
) -> Session:
    """A session on the standard credential chain (``profile`` if given), or, with
    ``role_arn``, one whose credentials are that role's, assumed through STS and renewed
    before they expire. Blocking: with ``role_arn`` it resolves the source credentials.
    STS's certificate is always checked (against ``ca_file`` when given), as Fluent Bit
    checks it whatever ``tls.verify`` says."""
    session = _profile_session(profile)
    if not role_arn:
        return session
    source = session.get_credentials()
    if source is None:
        raise NoCredentialsError()
    extra_args: dict[str, str] = {"RoleSessionName": "logtide"}
    if external_id:
        extra_args["ExternalId"] = external_id
    fetcher = AssumeRoleCredentialFetcher(
        client_creator=functools.partial(
            session.create_client,
            region_name=region,
            endpoint_url=_endpoint_url(sts_endpoint),
            verify=ca_file,
        ),
        source_credentials=source,
        role_arn=role_arn,
        extra_args=extra_args,
    )
    assumed = DeferredRefreshableCredentials(
        refresh_using=fetcher.fetch_credentials, method=_AssumedRole.METHOD
    )
    role_session = _profile_session(profile)
    role_session.register_component(
        "credential_provider", CredentialResolver([_AssumedRole(assumed)])
    )
    return role_session


class AwsClient:
    """One botocore client whose operations are awaited: ``await client.put_object(...)``
    runs ``put_object`` on the output's :class:`CallThread`."""

    def __init__(self, client: Any, thread: CallThread) -> None:
        self._client = client
        self._thread = thread
        self.meta = client.meta

    @property
    def botocore_client(self) -> Any:
        """The botocore client itself, for blocking calls handed to :meth:`run`."""
        return self._client

    async def run(self, call: Callable[[], T]) -> T:
        """``call()`` on this client's thread, in order with its operations."""
        return await self._thread.run(call)

    def close(self) -> None:
        """Blocking: closes the client's connections (called on the thread)."""
        self._client.close()

    def __getattr__(self, operation: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._client, operation)

        async def call(**params: Any) -> Any:
            return await self._thread.run(functools.partial(method, **params))

        return call


def _close_all(clients: list[AwsClient], wires: list[WireConnection]) -> None:
    for client in clients:
        client.close()
    for wire in wires:
        wire.close()


class AwsClients:
    """Owns one botocore session, the clients made from it and the thread their calls run
    on, for one output instance.

    Clients are created lazily (on that thread: resolving credentials may ask STS or
    instance metadata) and closed together by :meth:`close`.
    """

    def __init__(self, settings: AwsSettings, *, connect_timeout: float = 5.0) -> None:
        self._settings = settings
        self._session: Session | None = None
        self._clients: dict[str, AwsClient] = {}
        self._wires: list[WireConnection] = []
        self._connect_timeout = connect_timeout
        self._thread = CallThread(f"aws-{settings.region}")

    def _create(self, service: str, config: dict[str, Any]) -> Any:
        settings = self._settings
        if self._session is None:
            self._session = new_session(
                settings.region,
                settings.profile,
                settings.role_arn,
                settings.external_id,
                settings.sts_endpoint,
                settings.tls_ca_file,
            )
        return self._session.create_client(
            service,
            region_name=settings.region,
            endpoint_url=service_endpoint(
                settings.endpoint, service, settings.region, settings.port
            ),
            verify=certificate_check(settings),
            config=Config(
                connect_timeout=self._connect_timeout,
                read_timeout=60,
                # The engine owns retries, so a failure is classified once, never multiplied.
                retries={"max_attempts": 0, "mode": "standard"},
                **config,
            ),
        )

    async def client(self, service: str, **config: Any) -> AwsClient:
        """Return the (cached) client for ``service``; ``config`` extends botocore's Config."""
        if service not in self._clients:
            made = await self._thread.run(functools.partial(self._create, service, config))
            self._clients[service] = AwsClient(made, self._thread)
        return self._clients[service]

    async def credentials(self) -> Any:
        """The credentials the clients sign with (refreshable; ``None`` when the chain has
        none), after the first :meth:`client`."""
        assert self._session is not None, "credentials() before client()"
        return await self._thread.run(self._session.get_credentials)

    def user_agent(self, extra: str | None) -> str:
        """The session's ``User-Agent``, then ``extra`` (``extra_user_agent``), for requests
        an output sends without the client."""
        assert self._session is not None, "user_agent() before client()"
        agent: str = self._session.user_agent()
        return f"{agent} {extra}" if extra else agent

    def direct_connection(self, client: AwsClient) -> WireConnection | None:
        """A connection of the output's own to ``client``'s endpoint, with the client's
        timeouts and certificate checks (closed by :meth:`close`); ``None`` where the
        client's pool must carry the requests: a proxy or a client certificate in play."""
        assert self._session is not None, "direct_connection() before client()"
        url: str = client.meta.endpoint_url
        config = client.meta.config
        scheme = urlsplit(url).scheme
        # As botocore's endpoint picks its proxy: the config's, else the environment's.
        proxies = config.proxies or get_environ_proxies(url)
        if proxies.get(scheme) or config.client_cert:
            return None
        tls = None
        if scheme == "https":
            # What botocore's pool checks against: tls.verify / tls.ca_file, else the
            # session's ca_bundle (AWS_CA_BUNDLE), else REQUESTS_CA_BUNDLE, else
            # botocore's bundle.
            verify = certificate_check(self._settings)
            if verify is None:
                verify = self._session.get_config_variable("ca_bundle")
            if verify is None:
                verify = os.environ.get("REQUESTS_CA_BUNDLE", True)
            if verify is False:
                tls = client_context(TlsConfig(verify=False))
            else:
                bundle = get_cert_path(verify)
                folder = os.path.isdir(bundle)
                tls = client_context(
                    TlsConfig(
                        ca_file=None if folder else bundle,
                        ca_path=bundle if folder else None,
                        verify_hostname=True,
                    )
                )
        wire = WireConnection(
            url, tls, connect_timeout=config.connect_timeout, read_timeout=config.read_timeout
        )
        self._wires.append(wire)
        return wire

    async def close(self) -> None:
        made = list(self._clients.values())
        wires = list(self._wires)
        self._clients.clear()
        self._wires.clear()
        self._thread.close(functools.partial(_close_all, made, wires) if made or wires else None)
