"""The ``iam_aws`` fixture: an IAM-enforcing moto server with the log bucket created."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.iam.harness import BUCKET, IamAws, iam_moto


@pytest.fixture
def iam_aws(tmp_path: Path) -> Iterator[IamAws]:
    with iam_moto(tmp_path) as aws:
        aws.client("s3").create_bucket(Bucket=BUCKET)
        yield aws
