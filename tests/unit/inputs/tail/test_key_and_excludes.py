"""tail's ``Key`` (the record key of a line no parser took) and ``Exclude_Path`` lists, as the
Container Insights ConfigMap uses them: ``Key message`` for dmesg, and four excluded
patterns over the ``/var/log/containers`` symlinks."""

from __future__ import annotations

from pathlib import Path

from tests.unit.inputs.tail.harness import Sink, run_once


async def test_key_names_the_raw_line_without_a_parser(tmp_path: Path) -> None:
    dmesg = tmp_path / "dmesg"
    dmesg.write_bytes(b"[    0.000000] Linux version 5.10\n[    0.1] Command line: ro\n")
    sink = Sink()
    await run_once(sink, path=str(dmesg), read_from_head="on", key="message")
    assert sink.records == [
        {"message": "[    0.000000] Linux version 5.10"},
        {"message": "[    0.1] Command line: ro"},
    ]


async def test_key_names_a_line_the_parser_did_not_take(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b'{"a": 1}\nnot json\r\n')
    sink = Sink()
    await run_once(sink, path=str(log), read_from_head="on", parser="json", key="message")
    assert sink.records == [{"a": 1}, {"message": "not json\r"}]


async def test_key_defaults_to_log(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"x\n")
    sink = Sink()
    await run_once(sink, path=str(log), read_from_head="on")
    assert sink.records == [{"log": "x"}]


async def test_exclude_path_list_over_container_symlinks(tmp_path: Path) -> None:
    pods, containers = tmp_path / "pods", tmp_path / "containers"
    pods.mkdir()
    containers.mkdir()
    names = [
        "app-7d4_default_web-0a1.log",
        "cloudwatch-agent-x2_amazon-cloudwatch_agent-0b2.log",
        "fluent-bit-q9_amazon-cloudwatch_fluent-bit-0c3.log",
        "aws-node-k4_kube-system_aws-node-0d4.log",
        "kube-proxy-z5_kube-system_kube-proxy-0e5.log",
    ]
    for index, name in enumerate(names):
        target = pods / f"{index}.log"
        target.write_bytes(f"{name}\n".encode())
        (containers / name).symlink_to(target)
    excluded = ", ".join(
        f"{containers}/{prefix}*"
        for prefix in ("cloudwatch-agent", "fluent-bit", "aws-node", "kube-proxy")
    )
    sink = Sink()
    await run_once(sink, path=f"{containers}/*.log", exclude_path=excluded, read_from_head="on")
    assert sink.logs() == ["app-7d4_default_web-0a1.log"]
    # The dataplane input of the same ConfigMap: a Path list picking two of them.
    sink = Sink()
    await run_once(
        sink,
        path=f"{containers}/aws-node*, {containers}/kube-proxy*",
        read_from_head="on",
    )
    assert sorted(sink.logs()) == [names[3], names[4]]
