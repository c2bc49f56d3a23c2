"""Where the cloudwatch_logs journal lives: journal_dir, else next to the input's DB, else
nowhere (nothing is read again after a restart without a DB)."""

from __future__ import annotations

from pathlib import Path

from logtide.agent.config.loader import load_string
from logtide.agent.engine.plan import build_plan
from logtide.sinks.cloudwatch_logs import CloudWatchLogsOutput
from logtide.sinks.cloudwatch_logs.options import CloudWatchSettings, journal_path
from tests.support.plugins import settings_for

ARTICLE = {
    "region": "us-east-1",
    "log_group_name": "fluent-bit-cloudwatch-demo",
    "log_stream_prefix": "from-fluent-bit-",
}


def test_default_is_next_to_the_tail_db_of_the_article() -> None:
    plan = build_plan(
        load_string(
            "[INPUT]\n    Name tail\n    Path /var/log/containers/*.log\n"
            "    DB /var/log/flb_kube.db\n"
            "[OUTPUT]\n    Name cloudwatch_logs\n    Match *\n    region us-east-1\n"
            "    log_group_name fluent-bit-cloudwatch-demo\n"
            "    log_stream_prefix from-fluent-bit-\n"
        )
    )
    spec = plan.outputs[0]
    assert plan.checkpoint_db == "/var/log/flb_kube.db"
    assert journal_path(
        CloudWatchSettings.bind(spec.settings), plan.checkpoint_db, spec.instance
    ) == Path(
        "/var/log/flb_kube.db.cloudwatch_logs/"
        "cloudwatch_logs.0-fluent-bit-cloudwatch-demo-from-fluent-bit-.journal"
    )


def test_journal_dir_wins_and_no_db_means_no_journal() -> None:
    settings = CloudWatchSettings.bind(
        settings_for(CloudWatchLogsOutput, **ARTICLE, journal_dir="/state")
    )
    assert journal_path(settings, None, "cw") == Path(
        "/state/cw-fluent-bit-cloudwatch-demo-from-fluent-bit-.journal"
    )
    plain = CloudWatchSettings.bind(settings_for(CloudWatchLogsOutput, **ARTICLE))
    assert journal_path(plain, None, "cw") is None


def test_names_are_made_safe_and_short() -> None:
    settings = CloudWatchSettings.bind(
        settings_for(
            CloudWatchLogsOutput,
            region="us-east-1",
            log_group_name="/aws/eks/" + "x" * 200,
            log_stream_name="a b",
        )
    )
    path = journal_path(settings, "/db", "cw")
    assert path is not None and path.parent == Path("/db.cloudwatch_logs")
    assert "/" not in path.name and " " not in path.name and len(path.name) < 130
