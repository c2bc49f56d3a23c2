from __future__ import annotations

from pathlib import Path

import pytest

from logtide.agent.config.loader import load_file, load_string
from logtide.agent.core.errors import ConfigError

ARTICLE_YAML = """\
env:
  BUCKET: my-bucket
service:
  flush: 1
  log_level: info
parsers:
  - name: dummy
    format: json
multiline_parsers:
  - name: multi
    type: regex
    rules:
      - state: start_state
        regex: '/^\\d/'
        next_state: cont
pipeline:
  inputs:
    - name: tail
      tag: order
      path: /var/log/containers/*.log
      read_from_head: true
  filters:
    - name: parser
      match: order
      parser: [a, b]
  outputs:
    - name: s3
      match: states.ca
      bucket: ${BUCKET}
stream_processor:
  - name: ca
    exec: CREATE STREAM ca WITH (tag='states.ca') AS SELECT * FROM TAG:'order*' WHERE state = 'CA';
"""


def test_yaml_document_sections_with_lines() -> None:
    doc = load_string(ARTICLE_YAML, "yaml", name="f.yaml")
    assert doc.service.value("flush") == "1"
    assert doc.inputs[0].name == "tail"
    assert doc.inputs[0].value("read_from_head") == "on"
    assert str(doc.inputs[0].first("path").location) == "f.yaml:20"  # type: ignore[union-attr]
    assert [e.value for e in doc.filters[0].entries if e.key == "parser"] == ["a", "b"]
    assert doc.outputs[0].value("bucket") == "my-bucket"
    assert doc.parsers[0].name == "dummy"
    assert doc.multiline_parsers[0].value("rule") == '"start_state" "/^\\d/" "cont"'
    assert doc.stream_tasks[0].name == "ca"


def test_yaml_includes(tmp_path: Path) -> None:
    (tmp_path / "out.yaml").write_text(
        "pipeline:\n  outputs:\n    - name: null\n      match: '*'\n"
    )
    main = tmp_path / "main.yaml"
    main.write_text("includes:\n  - out.yaml\npipeline:\n  inputs:\n    - name: dummy\n")
    doc = load_file(str(main))
    assert doc.inputs[0].name == "dummy"
    assert doc.outputs[0].name == "null"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "pipeline:\n  input:\n    - name: x\n",
            "y.yaml:2: unknown pipeline key 'input'; valid keys: inputs, filters, outputs",
        ),
        (
            "pipelines: {}\n",
            "y.yaml:1: unknown top-level key 'pipelines'; valid keys: env, includes, service, parsers, multiline_parsers, pipeline, stream_processor, customs, plugins",
        ),
        ("pipeline:\n  inputs: tail\n", "y.yaml:2: 'pipeline.inputs' must be a list"),
        ("service: [a]\n", "y.yaml:1: 'service' must be a mapping"),
        (
            "service:\n  flush: [1: 2\n",
            "y.yaml:3: invalid YAML: expected ',' or ']', but got '<stream end>'",
        ),
        (
            "multiline_parsers:\n  - name: m\n    rules:\n      - state: s\n",
            "y.yaml:4: multiline rule is missing regex, next_state",
        ),
        (
            "includes:\n  - /nonexistent/a.yaml\n",
            "y.yaml:2: include not found: /nonexistent/a.yaml",
        ),
    ],
)
def test_malformed_yaml(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_string(text, "yaml", name="y.yaml")
    assert str(info.value) == message
