"""Finding, checking and loading the user's Python code for the ``python`` filter.

Two steps, as every plugin is built. :func:`check` runs at planning (``--dry-run``): it
finds the file, compiles it and reads its syntax tree for the callable and its arity, and
never runs the user's code (importing would: a module's top level may open sockets or
spawn threads). :func:`load` runs when the engine builds the filter: it executes the
module (``Path`` under a private module name, so two filters with different files never
share one) and resolves the callable for real.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import os
import re
import sys
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass
from importlib.machinery import ModuleSpec, PathFinder
from typing import Any

from logtide.agent.config.classic import resolve_path
from logtide.agent.core.errors import ConfigError, Location

_PRIVATE_PREFIX = "_logtide_python_filter"
_UNSAFE_RE = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True, slots=True)
class Source:
    """Where the user's code is: a file (``Path``) or an importable module (``Module``)."""

    call: str
    arity: int  # positional arguments the filter passes: 3 per record, 2 in batch mode
    location: Location  # the Path or Module line, for errors about finding the code
    call_location: Location  # the Call line, for errors about the callable
    path: str | None = None
    module: str | None = None

    @property
    def label(self) -> str:
        return f"module '{self.module}'" if self.module else str(self.path)

    @property
    def expected(self) -> str:
        return "(tag, events)" if self.arity == 2 else "(tag, timestamp, record)"


def source_for(
    path: str | None,
    module: str | None,
    call: str,
    batch: bool,
    location: Location,
    call_location: Location,
) -> Source:
    if (path is None) == (module is None):
        raise ConfigError("filter 'python': set exactly one of Path and Module", location)
    if not call.isidentifier():
        raise ConfigError(f"filter 'python': Call must be a name, got {call!r}", call_location)
    resolved = resolve_path(path, location.file) if path is not None else None
    return Source(call, 2 if batch else 3, location, call_location, path=resolved, module=module)


def _module_file(source: Source) -> str | None:
    """The module's file, found as the import system would but without importing any of
    its packages. ``None`` for a module with no Python source (an extension): then only
    :func:`load` can check it."""
    assert source.module is not None
    parts = source.module.split(".")
    if not all(part.isidentifier() for part in parts):
        raise ConfigError(
            f"filter 'python': Module must be a dotted name, got {source.module!r}",
            source.location,
        )
    search: list[str] | None = None
    spec = None
    for depth in range(len(parts)):
        name = ".".join(parts[: depth + 1])
        # A top-level name asks every finder (editable installs have their own), which
        # imports nothing; a submodule is looked up in its package's folders directly,
        # because asking the finders for it would import (run) the package first.
        try:
            spec = (
                importlib.util.find_spec(name) if depth == 0 else PathFinder.find_spec(name, search)
            )
        except ValueError:  # already imported, without a spec (__main__, a test's stand-in)
            return None
        if spec is None:
            raise ConfigError(
                f"filter 'python': module '{name}' not found on the Python path "
                "(set PYTHONPATH, or use Path for a file)",
                source.location,
            )
        search = list(spec.submodule_search_locations or [])
    assert spec is not None
    origin = spec.origin
    return origin if origin and origin.endswith(".py") else None


def check(source: Source) -> None:
    """The dry-run checks: the file exists and compiles, the callable is defined at its top
    level and, when it is a ``def`` or ``lambda``, takes the arguments the filter passes."""
    file = source.path if source.path is not None else _module_file(source)
    if file is None:
        return
    try:
        with open(file, "rb") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError(
            f"filter 'python': cannot read {file}: {exc.strerror or exc}", source.location
        ) from None
    try:
        tree = ast.parse(text, filename=file)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", 0) or 0
        detail = getattr(exc, "msg", None) or str(exc)
        raise ConfigError(f"filter 'python': {detail}", Location(file, line)) from None
    definitions = _top_level(tree.body)
    node = definitions.get(source.call)
    if node is None:
        if "*" in definitions:  # `from x import *`: only the import can tell
            return
        raise ConfigError(
            f"filter 'python': {file} defines no '{source.call}' at its top level",
            source.call_location,
        )
    if isinstance(node, ast.AsyncFunctionDef):
        raise ConfigError(
            f"filter 'python': '{source.call}' is async; the filter calls a plain function",
            Location(file, node.lineno),
        )
    arguments = _arguments(node)
    if arguments is not None and not _accepts(arguments, source.arity):
        raise ConfigError(
            f"filter 'python': '{source.call}' does not take {source.expected}",
            Location(file, node.lineno),
        )


def _top_level(body: list[ast.stmt]) -> dict[str, ast.stmt | ast.expr]:
    """Names bound by module-level statements (into ``if``/``try``/``with`` blocks, not into
    functions or classes), each to the statement that binds it last."""
    names: dict[str, ast.stmt | ast.expr] = {}
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[statement.name] = statement
        elif isinstance(statement, ast.Assign):
            for target in statement.targets:
                for node in ast.walk(target):
                    if isinstance(node, ast.Name):
                        names[node.id] = statement.value
        elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
            if isinstance(statement.target, ast.Name) and statement.value is not None:
                names[statement.target.id] = statement.value
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            for alias in statement.names:
                names[alias.asname or alias.name.split(".")[0]] = statement
        else:
            for block in ("body", "orelse", "finalbody"):
                inner = getattr(statement, block, None)
                if isinstance(inner, list):
                    names.update(_top_level(inner))
            for handler in getattr(statement, "handlers", []) or []:
                names.update(_top_level(handler.body))
    return names


def _arguments(node: ast.stmt | ast.expr) -> ast.arguments | None:
    if isinstance(node, (ast.FunctionDef, ast.Lambda)):
        return node.args
    return None  # a class, an import, a call's result: resolved at build


def _accepts(arguments: ast.arguments, count: int) -> bool:
    positional = len(arguments.posonlyargs) + len(arguments.args)
    required = positional - len(arguments.defaults)
    keyword_only = sum(default is None for default in arguments.kw_defaults)
    fits = count <= positional or arguments.vararg is not None
    return required <= count and fits and keyword_only == 0


def load(source: Source, instance: str) -> Callable[..., Any]:
    """Run the module and return its callable, or raise one :class:`ConfigError`."""
    check(source)
    try:
        module = _import(source, instance)
    except ConfigError:
        raise
    except (Exception, SystemExit) as exc:  # the user's top level may raise anything
        raise ConfigError(
            f"filter 'python': importing {source.label} failed: {type(exc).__name__}: {exc}",
            _user_frame(exc) or source.location,
        ) from None
    function = getattr(module, source.call, None)
    if function is None or not callable(function):
        what = "is not callable" if function is not None else "is not defined"
        raise ConfigError(
            f"filter 'python': '{source.call}' in {source.label} {what}",
            source.call_location,
        )
    if inspect.iscoroutinefunction(function):
        raise ConfigError(
            f"filter 'python': '{source.call}' is async; the filter calls a plain function",
            source.call_location,
        )
    try:
        inspect.signature(function).bind(*([None] * source.arity))
    except TypeError:
        raise ConfigError(
            f"filter 'python': '{source.call}' does not take {source.expected}",
            source.call_location,
        ) from None
    except ValueError:
        pass  # a builtin without a signature: trust it
    return function


def _import(source: Source, instance: str) -> Any:
    if source.module is not None:
        return importlib.import_module(source.module)
    assert source.path is not None
    # One name per filter instance: a reload replaces its own entry, two filters never meet.
    name = f"{_PRIVATE_PREFIX}.{_UNSAFE_RE.sub('_', instance)}"
    with open(source.path, "rb") as handle:
        # Compiled from the text each time, not through the import system's bytecode cache:
        # an edit within the same second would load the old code, and the cache would be
        # written into the config folder.
        code = compile(handle.read(), source.path, "exec", dont_inherit=True)
    module = types.ModuleType(name)
    module.__file__ = source.path
    module.__spec__ = ModuleSpec(name, None, origin=source.path)
    # Registered before running so dataclasses and pickling inside it find their module.
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except BaseException:  # not left half-initialised under its name, whatever stopped it
        sys.modules.pop(name, None)
        raise
    return module


def _user_frame(exc: BaseException) -> Location | None:
    """The innermost frame of the error that is not logtide's own: the user's file:line."""
    here = os.path.dirname(os.path.abspath(__file__))
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not os.path.abspath(frame.filename).startswith(here) and "<frozen" not in frame.filename
    ]
    if isinstance(exc, SyntaxError) and exc.filename:
        return Location(exc.filename, exc.lineno or 0)
    return Location(frames[-1].filename, frames[-1].lineno or 0) if frames else None
