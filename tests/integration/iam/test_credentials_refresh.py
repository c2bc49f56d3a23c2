"""Temporary credentials are renewed while logtide runs.

The IAM-enforcing moto server ends every STS session after ``SESSION`` seconds (reporting an
``Expiration`` that puts the session into botocore's refresh window at that moment, see
``enforcing_moto.py``). The real ``logtide`` process runs the article's pipeline with
``role_arn`` (or IRSA) and must deliver what is logged after the first sessions died.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.faults.agent import Agent, fast_article, new_port, wait_for
from tests.integration.iam.harness import (
    ACCOUNT_ID,
    BUCKET,
    LOG_GROUP,
    IamAws,
    aws_env,
    iam_moto,
    shipped_policy,
)

SESSION = 8.0  # seconds an STS session works
STREAM = "from-fluent-bit-states.notca"


def _lines(first: int, count: int) -> str:
    out = []
    for n in range(first, first + count):
        record = {"seq": n, "state": "CA" if n % 2 == 0 else "NY"}
        out.append(json.dumps({"log": json.dumps(record) + "\n", "stream": "stdout",
                               "time": "2026-11-27T00:00:00.000000000Z"}))  # fmt: skip
    return "\n".join(out) + "\n"


def _delivered(aws: IamAws) -> tuple[set[int], set[int]]:
    """Sequence numbers in S3 and in the CloudWatch stream (read with admin rights)."""
    s3, logs = aws.client("s3"), aws.client("logs")
    in_s3: set[int] = set()
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        in_s3 |= {json.loads(line)["seq"] for line in body.splitlines()}
    in_cw: set[int] = set()
    try:
        events = logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=STREAM)["events"]
    except logs.exceptions.ResourceNotFoundException:
        events = []
    in_cw |= {json.loads(event["message"])["seq"] for event in events}
    return in_s3, in_cw


def _run_across_expiry(
    aws: IamAws,
    work: Path,
    env: dict[str, str],
    between: Callable[[], object] = lambda: None,
    **outputs: str,
) -> None:
    """Log, wait for delivery, let every session expire, log again: all must arrive.
    ``between`` runs once the first records are in."""
    port = new_port()
    aws_options = {**outputs, "Retry_Limit": "no_limits"}
    config = fast_article(
        work,
        aws.endpoint,
        http_port=port,
        extra={"s3": aws_options, "cloudwatch_logs": aws_options},
    )
    log = work / "logs" / "ordering-app_default_app-0123456789ab.log"
    log.touch()
    agent = Agent(config, http_port=port, bucket=BUCKET)
    agent.env = env
    agent.start()
    try:
        agent.wait_files(1)
        with log.open("a") as handle:
            handle.write(_lines(0, 20))

        def everything(upto: int) -> bool:
            in_s3, in_cw = _delivered(aws)
            return in_s3 == set(range(0, upto, 2)) and in_cw == set(range(1, upto, 2))

        wait_for(lambda: everything(20), 60, what="the first records")
        between()
        time.sleep(SESSION + 3)  # every session issued so far has ended
        with log.open("a") as handle:
            handle.write(_lines(20, 20))
        try:
            wait_for(lambda: everything(40), 90, what="the records logged after expiry")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{agent.log_tail()}") from None
    finally:
        agent.stop()


def test_role_arn_sessions_are_renewed_before_they_expire(tmp_path: Path) -> None:
    with iam_moto(tmp_path, session_seconds=SESSION) as aws:
        aws.client("s3").create_bucket(Bucket=BUCKET)
        # the node's own identity may do nothing but assume the logtide role
        role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/logtide"
        node: dict[str, Any] = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]}  # fmt: skip
        keys = aws.user("node", node)
        aws.role("logtide", shipped_policy(), {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/node"})
        env = aws_env(keys, S3_BUCKET=BUCKET)
        _run_across_expiry(
            aws, tmp_path / "work", env, role_arn=role_arn, sts_endpoint=aws.endpoint
        )
        assumed = [s for s in aws.sessions() if s.startswith("AssumeRole ")]
    # one session per output at start, and a new one for each after the first ones ended
    assert len(assumed) >= 4, assumed


def test_irsa_token_file_is_read_again_for_each_new_session(tmp_path: Path) -> None:
    with iam_moto(tmp_path, session_seconds=SESSION) as aws:
        aws.client("s3").create_bucket(Bucket=BUCKET)
        role_arn = aws.role("logtide", shipped_policy(), {"Federated": "oidc"})
        token = tmp_path / "token"
        token.write_text("token-1")
        env = aws_env({"AccessKeyId": "", "SecretAccessKey": ""}, S3_BUCKET=BUCKET)
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            del env[key]
        env.update(
            AWS_ROLE_ARN=role_arn,
            AWS_WEB_IDENTITY_TOKEN_FILE=str(token),
            AWS_ENDPOINT_URL_STS=aws.endpoint,
        )
        # kubelet rotates the projected token; the next session must be made with the new one
        _run_across_expiry(aws, tmp_path / "work", env, lambda: token.write_text("token-2"))
        tokens = [s.split()[1] for s in aws.sessions() if s.startswith("AssumeRoleWith")]
    assert tokens[0] == "token-1" and "token-2" in tokens, tokens
