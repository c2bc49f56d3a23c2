"""Signature Version 4 for the requests an output sends on its own connection
(:mod:`logtide.sinks.aws.wire`): a POST with a JSON body and no query string.

botocore's ``SigV4Auth`` signs the same request to the same signature (a test holds the two
side by side); it is not used on this path because it rebuilds the signing key and walks
its header bookkeeping on every call: with the request object it needs, ~0.1 ms a request
on the development VM where this takes ~0.02 ms, beside the body's SHA-256 that both
compute. The key is derived once per secret and UTC day.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote

from botocore.utils import normalize_url_path

ALGORITHM = "AWS4-HMAC-SHA256"


class FrozenCredentials(Protocol):
    """What botocore's ``ReadOnlyCredentials`` carry."""

    access_key: str
    secret_key: str
    token: str | None


def _sha256_hex(pieces: Sequence[bytes]) -> str:
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    return digest.hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class Signer:
    """Signs for one service in one region; not thread-safe (the output's call thread
    alone uses it)."""

    def __init__(self, service: str, region: str) -> None:
        self._service = service
        self._region = region
        self._key: tuple[str, str, bytes] | None = None

    def _signing_key(self, secret: str, day: str) -> bytes:
        cached = self._key
        if cached is not None and cached[0] == secret and cached[1] == day:
            return cached[2]
        key = _hmac(f"AWS4{secret}".encode(), day)
        for part in (self._region, self._service, "aws4_request"):
            key = _hmac(key, part)
        self._key = (secret, day, key)
        return key

    def sign(
        self,
        credentials: FrozenCredentials,
        host: str,
        path: str,
        headers: dict[str, str],
        body: Sequence[bytes],
        now: datetime | None = None,
    ) -> dict[str, str]:
        """The headers that sign a POST of ``path`` (as the URL has it) to ``host`` with
        ``headers`` (every one is signed, so ``User-Agent`` stays out) and ``body``, given
        in pieces (hashed in turn, never joined): ``X-Amz-Date``, the session token when
        there is one, and ``Authorization``."""
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        added = {"X-Amz-Date": stamp}
        if credentials.token:
            added["X-Amz-Security-Token"] = credentials.token
        signed = {name.lower(): " ".join(value.split()) for name, value in headers.items()}
        signed.update((name.lower(), value) for name, value in added.items())
        signed["host"] = host
        names = sorted(signed)
        names_text = ";".join(names)
        canonical = "\n".join(
            (
                "POST",
                quote(normalize_url_path(path), safe="/~"),
                "",
                "".join(f"{name}:{signed[name]}\n" for name in names),
                names_text,
                _sha256_hex(body),
            )
        )
        day = stamp[:8]
        scope = f"{day}/{self._region}/{self._service}/aws4_request"
        to_sign = "\n".join(
            (ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode()).hexdigest())
        )
        signature = hmac.new(
            self._signing_key(credentials.secret_key, day), to_sign.encode(), hashlib.sha256
        ).hexdigest()
        added["Authorization"] = (
            f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
            f"SignedHeaders={names_text}, Signature={signature}"
        )
        return added
