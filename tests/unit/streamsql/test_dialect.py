"""The dialect extends sqlglot through its dialect API only (see streamsql/dialect.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from logtide import streamsql
from logtide.streamsql.dialect import FluentBit
from logtide.streamsql.lexer import TERMINATOR, FluentBitTokenizer

STREAMSQL = Path(streamsql.__file__).parent
# The parser's cursor state: sqlglot's driver owns it, a dialect reads it.
CURSOR_STATE = {"_tokens", "_tokens_size", "_index", "_curr", "_next", "_prev", "_chunks"}
# Moves only sqlglot's driver or backtracking make.
DRIVER_MOVES = {"_retreat", "_advance_chunk", "reset"}


def test_the_dialect_tokenizes_with_its_own_tokenizer() -> None:
    # sqlglot's Dialect takes the class named Tokenizer; a tokenizer_class attribute is
    # silently replaced by sqlglot's default tokenizer.
    assert FluentBit.tokenizer_class is FluentBitTokenizer
    tokens = FluentBit().tokenize("SELECT a FROM TAG:'x';")
    assert tokens[-1].token_type == TERMINATOR


def _offences(path: Path) -> list[str]:
    found = []
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        found += [
            f"{path.name}:{node.lineno} assigns {target.attr}"
            for target in targets
            if isinstance(target, ast.Attribute) and target.attr in CURSOR_STATE
        ]
        if isinstance(node, ast.Attribute) and node.attr in DRIVER_MOVES:
            found.append(f"{path.name}:{node.lineno} uses {node.attr}")
        if isinstance(node, ast.ClassDef):
            found += [
                f"{path.name}:{item.lineno} replaces {node.name}.{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef) and item.name in {"parse", "_parse"}
            ]
    return found


def test_no_module_drives_sqlglots_parser_state() -> None:
    assert [bad for path in sorted(STREAMSQL.glob("*.py")) for bad in _offences(path)] == []
