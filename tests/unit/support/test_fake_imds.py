"""The IMDS stand-in holds to IMDSv2's token rules, so the aws filter's tests mean something."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from tests.support.fake_imds import TOKEN_HEADER, TTL_HEADER, fake_imds


def call(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_token_rules() -> None:
    with fake_imds() as imds:
        token_url = imds.url + "/latest/api/token"
        instance_id = imds.url + "/latest/meta-data/instance-id"
        assert call(token_url, "PUT")[0] == 400, "the TTL header is required"
        assert call(token_url, "PUT", {TTL_HEADER: "21601"})[0] == 400
        assert call(token_url, "GET", {TTL_HEADER: "60"})[0] == 401
        status, token = call(token_url, "PUT", {TTL_HEADER: "60"})
        assert status == 200
        assert call(instance_id)[0] == 401, "no token"
        assert call(instance_id, headers={TOKEN_HEADER: "forged"})[0] == 401
        assert call(instance_id, headers={TOKEN_HEADER: token}) == (200, "i-0a1b2c3d4e5f67890")
        imds.expire_tokens()
        assert call(instance_id, headers={TOKEN_HEADER: token})[0] == 401, "expired"
        imds.require_token = False
        assert call(instance_id) == (200, "i-0a1b2c3d4e5f67890"), "v1 when tokens are optional"
        assert call(imds.url + "/latest/meta-data/tags/instance")[0] == 404


def test_modes() -> None:
    with fake_imds() as imds:
        imds.require_token = False
        url = imds.url + "/latest/meta-data/instance-id"
        imds.set_mode("error")
        assert call(url)[0] == 500
        imds.set_mode("refuse")
        with pytest.raises(urllib.error.URLError):
            call(url)
        imds.set_mode("ok")
        assert call(url)[0] == 200
