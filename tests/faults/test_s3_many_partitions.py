"""3,000 S3 partitions (distinct ``s3_key_format`` field values) under ``ulimit -n 256``:
every record uploaded, no EMFILE wedge (the short version runs in tests/integration/s3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.s3.test_s3_process_many_keys import distinct_values_uploaded
from tests.support.moto_server import MotoServer


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_3000_distinct_key_values_with_256_descriptors(moto: MotoServer, tmp_path: Path) -> None:
    distinct_values_uploaded(moto, tmp_path, 3000, timeout=840)
