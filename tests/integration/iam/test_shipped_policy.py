"""The shipped ``k8s/iam-policy.json`` is enough for the article's pipeline, and no more.

A moto server that authorises every request against IAM runs the real ``logtide`` process as
a user whose only policy is the shipped one: S3 PutObject and multipart uploads, CloudWatch
Logs group/stream creation and PutLogEvents. The negative controls show that the server
really refuses what a policy does not grant, so these tests can fail.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.faults.agent import article_config
from tests.integration.iam.harness import (
    BUCKET,
    LOG_GROUP,
    IamAws,
    aws_env,
    shipped_policy,
    without_action,
)
from tests.support.cli import LOGTIDE

KEY = "fluent-bit-logs/states.ca/x"
STREAM = "from-fluent-bit-states.notca"
PAD = "x" * 2000  # 3,000 CA records of ~2 KiB: one buffer over the 5 MiB part size


def _denied(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def _calls(aws: IamAws, keys: dict[str, str]) -> dict[str, Callable[[], Any]]:
    """One request per action the pipeline relies on, made as the user with ``keys``."""
    s3, logs = aws.client("s3", keys), aws.client("logs", keys)
    admin_s3 = aws.client("s3")
    upload = admin_s3.create_multipart_upload(Bucket=BUCKET, Key=KEY)["UploadId"]
    event = [{"timestamp": 1_700_000_000_000, "message": "m"}]
    return {
        "s3:PutObject": lambda: s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"1"),
        "s3:ListMultipartUploadParts": lambda: s3.list_parts(
            Bucket=BUCKET, Key=KEY, UploadId=upload
        ),
        "s3:AbortMultipartUpload": lambda: s3.abort_multipart_upload(
            Bucket=BUCKET, Key=KEY, UploadId=upload
        ),
        "s3:ListBucketMultipartUploads": lambda: s3.list_multipart_uploads(
            Bucket=BUCKET, Prefix=KEY
        ),
        "logs:CreateLogGroup": lambda: logs.create_log_group(logGroupName=LOG_GROUP),
        "logs:CreateLogStream": lambda: logs.create_log_stream(
            logGroupName=LOG_GROUP, logStreamName=STREAM
        ),
        "logs:PutLogEvents": lambda: logs.put_log_events(
            logGroupName=LOG_GROUP, logStreamName=STREAM, logEvents=event
        ),
        "logs:GetLogEvents": lambda: logs.get_log_events(
            logGroupName=LOG_GROUP, logStreamName=STREAM
        ),
    }


def test_the_server_refuses_every_action_the_policy_leaves_out(iam_aws: IamAws) -> None:
    full = iam_aws.user("full", shipped_policy())
    for call in _calls(iam_aws, full).values():
        call()  # the shipped policy allows it (the calls run in dependency order)
    for number, action in enumerate(_calls(iam_aws, full)):
        keys = iam_aws.user(f"without-{number}", without_action(shipped_policy(), action))
        calls = _calls(iam_aws, keys)
        assert _denied(calls[action]) in ("AccessDenied", "403"), action
    # and the resources are scoped: another prefix, another log group
    s3, logs = iam_aws.client("s3", full), iam_aws.client("logs", full)
    assert _denied(lambda: s3.put_object(Bucket=BUCKET, Key="other/x", Body=b"1"))
    assert _denied(lambda: logs.create_log_group(logGroupName="another-group"))


def _app_lines(first: int, count: int) -> list[str]:
    """Docker json-file lines of the article's app; even numbers are CA orders."""
    lines = []
    for n in range(first, first + count):
        record = {"seq": n, "state": "CA" if n % 2 == 0 else "NY", "note": PAD}
        lines.append(json.dumps({"log": json.dumps(record) + "\n", "stream": "stdout",
                                 "time": "2026-11-27T00:00:00.000000000Z"}))  # fmt: skip
    return lines


def _run_once(config: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        [LOGTIDE, "-c", str(config), "--once"], env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "AccessDenied" not in result.stderr, result.stderr[-3000:]
    return result.stderr


def _s3_records(aws: IamAws) -> tuple[list[int], list[str]]:
    s3 = aws.client("s3")
    seqs, etags = [], []
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        etags.append(item["ETag"])
        body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        seqs += [json.loads(line)["seq"] for line in body.splitlines()]
    return sorted(seqs), etags


def _cloudwatch_records(aws: IamAws) -> list[int]:
    logs = aws.client("logs")
    seqs: list[int] = []
    token = None
    while True:
        args = {"nextToken": token} if token else {}
        page = logs.get_log_events(
            logGroupName=LOG_GROUP, logStreamName=STREAM, startFromHead=True, **args
        )
        seqs += [json.loads(event["message"])["seq"] for event in page["events"]]
        if not page["events"] or page["nextForwardToken"] == token:
            return sorted(seqs)
        token = page["nextForwardToken"]


def _article(tmp_path: Path, endpoint: str) -> Path:
    """The article's config as shipped, pointed at local paths and the moto endpoint."""
    return article_config(
        tmp_path / "etc",
        {
            "SERVICE": {"HTTP_Server": "Off"},
            "tail": {"Path": str(tmp_path / "containers" / "*.log"),
                     "DB": str(tmp_path / "flb_kube.db"), "Read_from_Head": "On"},
            "s3": {"store_dir": str(tmp_path / "fluentbit"), "endpoint": endpoint},
            "cloudwatch_logs": {"endpoint": endpoint},
        },
    )  # fmt: skip


@pytest.mark.parametrize("policy", ["shipped", "shipped without ListBucketMultipartUploads"])
def test_article_pipeline_delivers_everything_under_the_shipped_policy(
    iam_aws: IamAws, tmp_path: Path, policy: str
) -> None:
    document = shipped_policy()
    if policy != "shipped":
        # the stray-upload check is housekeeping: without it uploads must still go through
        document = without_action(document, "s3:ListBucketMultipartUploads")
    keys = iam_aws.user("logtide", document)
    config = _article(tmp_path, iam_aws.endpoint)
    env = aws_env(keys, S3_BUCKET=BUCKET)
    log = tmp_path / "containers" / "ordering-app_default_app-0123456789ab.log"
    log.parent.mkdir()
    # a small first run (one PutObject), then a second one over the part size (multipart)
    log.write_text("\n".join(_app_lines(0, 200)) + "\n")
    _run_once(config, env)
    with log.open("a") as handle:
        handle.write("\n".join(_app_lines(200, 6000)) + "\n")
    stderr = _run_once(config, env)
    # the shipped policy lets the stray-upload check run; without the statement it is skipped
    skipped = "not allowed to list multipart uploads" in stderr
    assert skipped == (policy != "shipped"), stderr[-3000:]

    seqs, etags = _s3_records(iam_aws)
    assert seqs == list(range(0, 6200, 2))
    assert sorted(tag.strip('"').partition("-")[2] for tag in etags) == ["", "2"]
    assert _cloudwatch_records(iam_aws) == list(range(1, 6200, 2))
    assert not list((tmp_path / "fluentbit").rglob("*.jsonl"))
