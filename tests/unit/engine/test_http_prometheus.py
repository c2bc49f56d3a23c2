"""The metric documents: Fluent Bit's JSON shape and Prometheus text that parses."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from logtide.agent.engine.prometheus import MetricsView, metrics_json, prometheus_text


def view() -> MetricsView:
    return MetricsView(
        counters={
            "tail.0": {"records": 10, "bytes": 500, "files_opened": 2, "long_lines_skipped": 1},
            "grep.0": {"drop_records": 3},
            "s3.0": {"proc_records": 7, "errors": 2, "s3_objects_uploaded": 4},
            "gone.0": {"records": 99},
        },
        kinds={"tail.0": "input", "grep.0": "filter", "s3.0": "output"},
        gauges={
            ("s3.0", "store_dir_bytes", ()): 2048,
            ("tail.0", "offset_lag_bytes", (("file", '/var/log/a "b".log'),)): 12,
        },
        start_time=1700000000.5,
        uptime=42.9,
        version="1.2.3",
        hostname="node-1",
        reloads=2,
    )


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_json_has_fluent_bit_keys_for_every_instance_of_the_plan() -> None:
    document = metrics_json(view())
    assert document["input"]["tail.0"] == {
        "records": 10,
        "bytes": 500,
        "files_opened": 2,
        "long_lines_skipped": 1,
    }
    assert document["filter"]["grep.0"] == {"drop_records": 3, "add_records": 0}
    assert document["output"]["s3.0"] == {
        "proc_records": 7,
        "proc_bytes": 0,
        "errors": 2,
        "retries": 0,
        "retries_failed": 0,
        "dropped_records": 0,
        "retried_records": 0,
        "s3_objects_uploaded": 4,
    }
    assert "gone.0" not in str(document)


def test_v1_prometheus_parses_with_fluent_bit_names() -> None:
    found = samples(prometheus_text(view(), v2=False))
    assert found[("fluentbit_input_records_total", (("name", "tail.0"),))] == 10
    assert found[("fluentbit_input_files_opened_total", (("name", "tail.0"),))] == 2
    assert found[("logtide_input_long_lines_skipped_total", (("name", "tail.0"),))] == 1
    assert found[("fluentbit_filter_drop_records_total", (("name", "grep.0"),))] == 3
    assert found[("fluentbit_output_proc_records_total", (("name", "s3.0"),))] == 7
    assert found[("fluentbit_output_errors_total", (("name", "s3.0"),))] == 2
    assert found[("fluentbit_output_retries_failed_total", (("name", "s3.0"),))] == 0
    assert found[("logtide_output_s3_objects_uploaded_total", (("name", "s3.0"),))] == 4
    assert found[("process_start_time_seconds", ())] == 1700000000
    assert found[("fluentbit_build_info", (("edition", "Community"), ("version", "1.2.3")))] == 1


def test_v2_prometheus_adds_hostname_labelled_process_metrics_and_gauges() -> None:
    text = prometheus_text(view(), v2=True)
    # Fluent Bit writes these counters without _total; the parser reads them with it
    assert 'fluentbit_uptime{hostname="node-1"} 42\n' in text
    found = samples(text)
    host = (("hostname", "node-1"),)
    assert found[("fluentbit_uptime_total", host)] == 42
    assert found[("fluentbit_hot_reloaded_times_total", host)] == 2
    assert found[("fluentbit_process_start_time_seconds", host)] == 1700000000
    info = [key for key in found if key[0] == "fluentbit_build_info"]
    assert dict(info[0][1])["version"] == "1.2.3" and dict(info[0][1])["hostname"] == "node-1"
    assert found[("logtide_output_store_dir_bytes", (("name", "s3.0"),))] == 2048
    lag = ("logtide_input_offset_lag_bytes", (("file", '/var/log/a "b".log'), ("name", "tail.0")))
    assert found[lag] == 12
    assert found[("fluentbit_output_dropped_records_total", (("name", "s3.0"),))] == 0


def test_every_family_has_help_and_type_once() -> None:
    text = prometheus_text(view(), v2=True)
    types = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(types) == len(set(types))
    helps = [line.split()[2] for line in text.splitlines() if line.startswith("# HELP")]
    assert helps == types
