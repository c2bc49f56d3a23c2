"""What the ``aws`` filter adds: which fields are wanted, how each is fetched from IMDS,
and the values fetched so far (kept for the life of the process: instance metadata does
not change while the instance runs, so a field once fetched is never asked for again)."""

from __future__ import annotations

import logging
from urllib.parse import quote

import orjson

from logtide.agent.filters.aws.imds import ImdsClient, ImdsError
from logtide.agent.filters.aws.options import AwsSettings

#: Record keys in the order Fluent Bit appends them.
FIELDS = (
    "az",
    "ec2_instance_id",
    "ec2_instance_type",
    "private_ip",
    "vpc_id",
    "ami_id",
    "account_id",
    "hostname",
)
#: The order Fluent Bit asks for them in.
FETCH_ORDER = (
    "ec2_instance_id",
    "account_id",
    "ec2_instance_type",
    "private_ip",
    "vpc_id",
    "ami_id",
    "hostname",
    "az",
)
PATHS = {
    "az": "/latest/meta-data/placement/availability-zone",
    "ec2_instance_id": "/latest/meta-data/instance-id",
    "ec2_instance_type": "/latest/meta-data/instance-type",
    "private_ip": "/latest/meta-data/local-ipv4",
    "ami_id": "/latest/meta-data/ami-id",
    "hostname": "/latest/meta-data/hostname",
}
MAC_PATH = "/latest/meta-data/mac"
VPC_ID_PATH = "/latest/meta-data/network/interfaces/macs/{}/vpc-id"
IDENTITY_PATH = "/latest/dynamic/instance-identity/document"
TAGS_PATH = "/latest/meta-data/tags/instance"
TAGS = "tags"
ENTITY_KEYS = {
    "ec2_instance_id": "aws_entity_ec2_instance_id",
    "account_id": "aws_entity_account_id",
}


async def fetch_field(client: ImdsClient, name: str) -> str:
    """One field's value (surrounding white space removed)."""
    if name == "vpc_id":
        mac = (await client.get(MAC_PATH)).strip()
        return (await client.get(VPC_ID_PATH.format(quote(mac, safe=":")))).strip()
    if name == "account_id":
        body = await client.get(IDENTITY_PATH)
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ImdsError(f"GET {IDENTITY_PATH}: not a JSON document") from None
        account = document.get("accountId") if isinstance(document, dict) else None
        if not isinstance(account, str) or not account:
            raise ImdsError(f"GET {IDENTITY_PATH}: no accountId in the document")
        return account
    return (await client.get(PATHS[name])).strip()


class InstanceMetadata:
    """The wanted fields and tags, and what has been fetched of them."""

    def __init__(self, settings: AwsSettings, logger: logging.Logger, label: str) -> None:
        self.included = tuple(name for name in FIELDS if getattr(settings, name))
        self.entity = settings.enable_entity
        needed = set(self.included) | (set(ENTITY_KEYS) if self.entity else set())
        self.to_fetch = [name for name in FETCH_ORDER if name in needed]
        self.tags_enabled = settings.tags_enabled
        self.include = frozenset(settings.tags_include)
        self.exclude = frozenset(settings.tags_exclude)
        self.values: dict[str, str] = {}
        #: ``None`` until the tags were fetched; ``{}`` when the instance exposes none.
        self.tags: dict[str, str] | None = None
        self._logger = logger
        self._label = label

    def missing(self) -> list[str]:
        """What is wanted and not fetched yet, by record key (``tags`` for the tags)."""
        names = [name for name in self.to_fetch if name not in self.values]
        if self.tags_enabled and self.tags is None:
            names.append(TAGS)
        return names

    async def fetch_missing(self, client: ImdsClient) -> ImdsError | None:
        """Ask for everything still missing; return the last failure (``None`` if none).

        A field that fails is left for the next round and the others are still asked for,
        unless IMDS did not answer at all: then the round stops at once.
        """
        failure: ImdsError | None = None
        async with client:
            for name in self.missing():
                try:
                    if name == TAGS:
                        self.tags = await self._fetch_tags(client)
                    else:
                        self.values[name] = await fetch_field(client, name)
                except ImdsError as exc:
                    failure = exc
                    if exc.unreachable:
                        break
        return failure

    async def _fetch_tags(self, client: ImdsClient) -> dict[str, str]:
        try:
            listing = await client.get(TAGS_PATH)
        except ImdsError as exc:
            if not exc.not_found:
                raise
            # Not retried, as Fluent Bit: the instance has no tags or does not expose them.
            self._logger.warning(
                "%s: IMDS has no instance tags (HTTP 404): the instance has none, or "
                "instance metadata tags are not enabled on it; no tags are added",
                self._label,
            )
            return {}
        tags: dict[str, str] = {}
        for key in (line.strip() for line in listing.splitlines()):
            if not key or (self.include and key not in self.include) or key in self.exclude:
                continue
            tags[key] = await client.get(f"{TAGS_PATH}/{quote(key, safe='')}")
        return tags

    def additions(self) -> dict[str, str]:
        """The keys to add to every record now, in Fluent Bit's order."""
        values = self.values
        added = {name: values[name] for name in self.included if name in values}
        if self.tags:
            added.update(self.tags)
        if self.entity and all(name in values for name in ENTITY_KEYS):
            for name, key in ENTITY_KEYS.items():
                added[key] = values[name]
        return added
