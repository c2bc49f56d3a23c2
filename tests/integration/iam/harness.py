"""An IAM-enforcing moto server (its own process, see ``enforcing_moto.py``) and helpers to
create users and roles on it, with the shipped ``k8s/iam-policy.json`` filled in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from tests.support.moto_server import REGION, free_port

ROOT = Path(__file__).resolve().parents[3]
ACCOUNT_ID = "123456789012"  # moto's account
BUCKET = "eks-fluentbit-logs-iam"
LOG_GROUP = "fluent-bit-cloudwatch-demo"
# The admin user's three calls (CreateUser, PutUserPolicy, CreateAccessKey) are free; every
# request after them is authenticated and authorised.
FREE_ACTIONS = 3
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}  # fmt: skip

Keys = dict[str, str]


def shipped_policy() -> dict[str, Any]:
    """``k8s/iam-policy.json`` with its placeholders filled in as docs/kubernetes.md does."""
    text = (ROOT / "k8s" / "iam-policy.json").read_text()
    for placeholder, value in (
        ("BUCKET", BUCKET),
        ("REGION", REGION),
        ("ACCOUNT_ID", ACCOUNT_ID),
        ("DELIVERY_STREAM", "logtide-stream"),
        ("KMS_KEY_ID", "00000000-0000-0000-0000-000000000000"),
    ):
        text = text.replace(placeholder, value)
    policy: dict[str, Any] = json.loads(text)
    return policy


def without_action(policy: dict[str, Any], action: str) -> dict[str, Any]:
    """``policy`` with ``action`` taken out of every statement (empty statements dropped)."""
    statements = []
    for statement in policy["Statement"]:
        actions = statement["Action"]
        kept = [a for a in ([actions] if isinstance(actions, str) else actions) if a != action]
        if kept:
            statements.append({**statement, "Action": kept})
    return {**policy, "Statement": statements}


def aws_env(keys: Keys, **extra: str) -> dict[str, str]:
    """The environment for a logtide process: no inherited AWS settings, only ``keys``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=keys["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=keys["SecretAccessKey"],
        AWS_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    env.update(extra)
    return env


@dataclass
class IamAws:
    endpoint: str
    admin: Keys
    sts_log: Path

    def client(self, service: str, keys: Keys | None = None, token: str | None = None) -> Any:
        keys = keys or self.admin
        return boto3.client(  # type: ignore[call-overload]
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id=keys["AccessKeyId"],
            aws_secret_access_key=keys["SecretAccessKey"],
            aws_session_token=token,
        )

    def user(self, name: str, policy: dict[str, Any]) -> Keys:
        """A user whose only permissions are ``policy``; returns its access key."""
        iam = self.client("iam")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}

    def role(self, name: str, policy: dict[str, Any], trusted: dict[str, Any]) -> str:
        """A role with ``policy`` that ``trusted`` (a Principal element) may assume."""
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": trusted, "Action": "sts:AssumeRole*"}],
        }
        iam = self.client("iam")
        arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))[
            "Role"
        ]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="only", PolicyDocument=json.dumps(policy))
        return arn

    def sessions(self) -> list[str]:
        """One entry per STS session the server issued, oldest first."""
        if not self.sts_log.exists():
            return []
        return self.sts_log.read_text().splitlines()


@contextmanager
def iam_moto(tmp_path: Path, session_seconds: float | None = None) -> Iterator[IamAws]:
    port = free_port()
    sts_log = tmp_path / "sts.log"
    env = {
        **os.environ,
        "INITIAL_NO_AUTH_ACTION_COUNT": str(FREE_ACTIONS),
        "STS_LOG": str(sts_log),
    }
    if session_seconds is not None:
        env["SESSION_SECONDS"] = str(session_seconds)
    log = (tmp_path / "moto.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.iam.enforcing_moto", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "moto.log").read_text()
                assert time.monotonic() < deadline, "moto did not start"
                time.sleep(0.2)
        anonymous = {"AccessKeyId": "bootstrap", "SecretAccessKey": "bootstrap"}
        iam = IamAws(endpoint, anonymous, sts_log).client("iam")
        iam.create_user(UserName="admin")
        iam.put_user_policy(
            UserName="admin", PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL)
        )
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        admin = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
        yield IamAws(endpoint, admin, sts_log)
    finally:
        server.terminate()
        server.wait(10)
        log.close()
