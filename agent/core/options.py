"""Declarative plugin options: each plugin lists its options once, in an :class:`Option` table.

That one table drives parsing of raw strings (sizes like ``30M``, times like ``3m``, booleans
like ``On``), validation (unknown key, bad value, missing required option), ``logtide -h
PLUGIN`` and the generated docs. Keys are case-insensitive, as in Fluent Bit.

Binding: :func:`resolve` gives :class:`Settings` (values keyed by option key); a plugin reads
them as a frozen dataclass it declares, a subclass of :class:`BoundSettings`, made by
:meth:`BoundSettings.bind`. The rule that joins the two is fixed: an option fills the field
named by its ``field=`` when given, else its name lower-cased with every run of characters
other than letters, digits and ``_`` turned into one ``_`` (``Read_From_Head`` ->
``read_from_head``, ``storage.total_limit_size`` -> ``storage_total_limit_size``).
:func:`binding_problems` checks a table against its class (every option fills a field of a
matching type, every field has an option); the plugin base runs it when a plugin class is
defined, so a disagreement fails at import. Values a class computes from its options (a parsed
key format, an effective mode) are fields declared ``field(init=False)``, set in
``__post_init__``, which is also where checks across options live.
"""

from __future__ import annotations

import dataclasses
import difflib
import keyword
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self

from logtide.agent.core.errors import ConfigError, Location

OptionType = Literal["str", "int", "float", "bool", "size", "time", "list", "enum"]

_TRUE = frozenset({"on", "true", "yes", "1"})
_FALSE = frozenset({"off", "false", "no", "0"})
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_TIME_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$", re.IGNORECASE)
_TIME_UNITS = {"": 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_NON_IDENTIFIER_RE = re.compile(r"[^a-z0-9_]+")


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"expected a boolean (On/Off, true/false, yes/no), got {raw!r}")


def parse_size(raw: str) -> int:
    """``32k`` -> 32768; ``30M``/``30MB``/``30MiB`` -> 31457280 (Fluent Bit counts in 1024s)."""
    match = _SIZE_RE.match(raw)
    if not match:
        raise ValueError(f"expected a size such as 32k, 30M or 256MB, got {raw!r}")
    number, unit, _ = match.groups()
    return int(float(number) * _SIZE_UNITS[unit.lower()])


def parse_time(raw: str) -> float:
    """``3m`` -> 180.0, ``10s`` -> 10.0, ``1.5`` -> 1.5 (bare numbers are seconds)."""
    match = _TIME_RE.match(raw)
    if not match:
        raise ValueError(f"expected a duration such as 1.5, 10s, 3m or 1h, got {raw!r}")
    number, unit = match.groups()
    return float(number) * _TIME_UNITS[(unit or "").lower()]


def parse_int(raw: str) -> int:
    try:
        return int(raw.strip(), 0) if raw.strip().lower().startswith("0x") else int(raw.strip())
    except ValueError:
        raise ValueError(f"expected an integer, got {raw!r}") from None


def parse_float(raw: str) -> float:
    try:
        return float(raw.strip())
    except ValueError:
        raise ValueError(f"expected a number, got {raw!r}") from None


@dataclass(frozen=True, slots=True)
class Option:
    """One plugin option: declared once, used for parsing, validation, help and docs.

    ``multiple`` options may repeat (Fluent Bit's ``Parser`` in the parser filter, ``Set`` in
    modify); their value is the list of every occurrence. ``list`` options split one value on
    ``separator`` (``None`` splits on whitespace); a ``multiple`` one gathers the items of
    every occurrence into one list (``multiline.parser docker`` then ``multiline.parser cri``
    is ``docker, cri``, as Fluent Bit adds them up). ``keep_variables`` options see an undefined
    ``${name}`` as written instead of expanded to nothing (their own placeholders).
    ``nonempty`` options (and ``required`` ones) are used as written once given (an endpoint,
    a region, a host): an empty value is an error, naming the unset ``${VAR}`` that left it
    empty, where other options keep Fluent Bit's expansion to the empty string.
    ``refers`` names the registry the value is looked up in (``parser``, ``multiline_parser``):
    validation checks the name exists, so ``--dry-run`` catches a typo the run would hit.
    ``field`` names the :class:`BoundSettings` field the value fills, where the module's
    naming rule would not give it. ``inert`` options are Fluent Bit's that logtide takes
    (so its configs start), checks by type and documents, and has no use for: they fill
    no field.
    """

    name: str
    type: OptionType = "str"
    default: Any = None
    description: str = ""
    required: bool = False
    multiple: bool = False
    choices: tuple[str, ...] = ()
    separator: str | None = ","
    keep_variables: bool = False
    nonempty: bool = False
    refers: Literal["parser", "multiline_parser"] | None = None
    field: str | None = None
    inert: bool = False

    @property
    def key(self) -> str:
        return self.name.lower()

    @property
    def attribute(self) -> str:
        """The settings field this option fills (the module docstring gives the rule)."""
        return self.field or _NON_IDENTIFIER_RE.sub("_", self.key)

    def parse(self, raw: str) -> Any:
        if self.type == "str":
            return raw
        if self.type == "int":
            return parse_int(raw)
        if self.type == "float":
            return parse_float(raw)
        if self.type == "bool":
            return parse_bool(raw)
        if self.type == "size":
            return parse_size(raw)
        if self.type == "time":
            return parse_time(raw)
        if self.type == "list":
            return [part.strip() for part in raw.split(self.separator) if part.strip()]
        if self.type == "enum":
            lowered = {choice.lower(): choice for choice in self.choices}
            if raw.strip().lower() not in lowered:
                raise ValueError(f"expected one of {', '.join(self.choices)}, got {raw!r}")
            return lowered[raw.strip().lower()]
        raise AssertionError(f"unknown option type {self.type}")

    def default_text(self) -> str:
        if self.default is None:
            return "-"
        if isinstance(self.default, bool):
            return "On" if self.default else "Off"
        if isinstance(self.default, list):
            return ",".join(str(v) for v in self.default) or "-"
        return str(self.default)


@dataclass(frozen=True, slots=True)
class Entry:
    """One ``key value`` pair as read from a config file or a ``-p`` flag.

    ``literal`` is the value with undefined ``${name}`` variables kept as written (``None``
    when that is the same as ``value``), for options declared with ``keep_variables``.
    """

    key: str
    value: str
    location: Location
    literal: str | None = None


@dataclass(slots=True)
class Settings:
    """Parsed option values keyed by the lower-case option name, and the table they follow."""

    values: dict[str, Any]
    location: Location
    given: frozenset[str] = dataclasses.field(default_factory=frozenset)
    # Every (option key, parsed value, where it was written) in file order: plugins whose
    # rules apply in the order they were written across different keys (modify, grep) read
    # this, and point a bad rule's error at its line.
    ordered: tuple[tuple[str, Any, Location], ...] = ()
    options: tuple[Option, ...] = ()

    @property
    def written_at(self) -> dict[str, tuple[Location, ...]]:
        """Where each given option was written (a repeated one: each time), so a check made
        after parsing (a rule's regex, a script's syntax) can point at its line, not the
        section's."""
        places: dict[str, list[Location]] = {}
        for key, _, location in self.ordered:
            places.setdefault(key, []).append(location)
        return {key: tuple(where) for key, where in places.items()}

    def __getitem__(self, key: str) -> Any:
        return self.values[key.lower()]

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key.lower(), default)

    def is_set(self, key: str) -> bool:
        """True when the user wrote the option (as opposed to inheriting its default)."""
        return key.lower() in self.given


def resolve(
    label: str,
    table: Sequence[Option],
    entries: Iterable[Entry],
    location: Location,
) -> Settings:
    """Turn raw entries into typed settings, or raise one clear :class:`ConfigError`."""
    by_key = {option.key: option for option in table}
    values: dict[str, Any] = {
        option.key: (list(option.default or []) if option.multiple else option.default)
        for option in table
    }
    given: set[str] = set()
    ordered: list[tuple[str, Any, Location]] = []
    for entry in entries:
        key = entry.key.lower()
        option = by_key.get(key)
        if option is None:
            raise ConfigError(_unknown_key_message(label, entry.key, table), entry.location)
        unset = _unset_variables(entry) if not option.keep_variables else ""
        if (option.required or option.nonempty) and not entry.value.strip():
            because = f": {unset}" if unset else ""
            raise ConfigError(f"{label}: {option.name} is empty{because}", entry.location)
        try:
            text = entry.literal if option.keep_variables and entry.literal else entry.value
            parsed = option.parse(text)
        except ValueError as exc:
            because = f" ({unset})" if unset else ""
            raise ConfigError(
                f"{label}: option '{option.name}': {exc}{because}", entry.location
            ) from None
        ordered.append((key, parsed, entry.location))
        if option.multiple:
            if key not in given:
                values[key] = []
            if option.type == "list":
                values[key].extend(parsed)
            else:
                values[key].append(parsed)
        else:
            values[key] = parsed
        given.add(key)
    for option in table:
        if option.required and option.key not in given:
            raise ConfigError(f"{label}: missing required option '{option.name}'", location)
    return Settings(
        values,
        location,
        frozenset(given),
        tuple(ordered),
        tuple(table),
    )


_UNSET_RE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_.]*\}")


def _unset_variables(entry: Entry) -> str:
    """``${A} is not set`` for the variables that expanded to nothing in ``entry``."""
    if entry.literal is None:
        return ""
    names = list(dict.fromkeys(_UNSET_RE.findall(entry.literal)))
    if not names:
        return ""
    verb = "is" if len(names) == 1 else "are"
    return f"{', '.join(names)} {verb} not set"


def did_you_mean(word: str, names: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the name closest to ``word`` (case-insensitive), or ""."""
    by_lower = {name.lower(): name for name in names}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.75)
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""


def _unknown_key_message(label: str, key: str, table: Sequence[Option]) -> str:
    names = sorted((option.name for option in table), key=str.lower)
    hint = did_you_mean(key, names)
    return f"{label}: unknown option '{key}'{hint}; valid options: {', '.join(names)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class BoundSettings:
    """A plugin's settings as typed attributes: one field per option of its table.

    Subclasses are ``@dataclass(frozen=True, slots=True, kw_only=True)``. ``location`` is
    where the section starts, for the errors of checks across options in ``__post_init__``;
    :meth:`where` is where one option was written, for the errors of a check on its value.
    """

    location: Location
    written_at: Mapping[str, tuple[Location, ...]] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def bind(cls, settings: Settings) -> Self:
        """Fill the fields from resolved settings (the checks of ``__post_init__`` run)."""
        bound = [option for option in settings.options if not option.inert]
        values = {option.attribute: settings.values[option.key] for option in bound}
        places = settings.written_at
        written_at = {
            option.attribute: places[option.key] for option in bound if option.key in places
        }
        return cls(location=settings.location, written_at=written_at, **values)

    def where(self, attribute: str | None, index: int = 0) -> Location:
        """The line that wrote option field ``attribute`` (its ``index``-th time, for a
        repeated option); the section's start when it was not written, or for ``None`` (a
        check across options)."""
        places = self.written_at.get(attribute, ()) if attribute is not None else ()
        return places[index] if index < len(places) else self.location

    def _derive(self, name: str, value: Any) -> None:
        """Set a computed (``init=False``) field, or normalise an option's value, in
        ``__post_init__`` (the instance is frozen)."""
        object.__setattr__(self, name, value)


#: The fields every settings class has besides its options.
BOUND_FIELDS = frozenset({"location", "written_at"})


def binding_problems(table: Sequence[Option], cls: type[BoundSettings]) -> list[str]:
    """Where ``table`` and ``cls`` disagree: an option with no field (or a field of another
    type), a field with no option, two options filling one field (``inert`` options fill
    none). Empty when they agree."""
    fields = {
        item.name: item
        for item in dataclasses.fields(cls)
        if item.init and item.name not in BOUND_FIELDS
    }
    hints = typing.get_type_hints(cls)
    problems: list[str] = []
    filled: dict[str, Option] = {}
    for option in table:
        if option.inert:
            continue
        name = option.attribute
        if name in filled:
            problems.append(
                f"{cls.__name__}.{name} is filled by {filled[name].name} and {option.name}"
            )
            continue
        filled[name] = option
        if not name.isidentifier() or keyword.iskeyword(name):
            problems.append(f"option {option.name} fills {name!r}, not a field name; give field=")
        elif name not in fields:
            problems.append(f"option {option.name} fills no field of {cls.__name__} ({name})")
        else:
            mismatch = _type_mismatch(option, hints[name])
            if mismatch:
                problems.append(f"{cls.__name__}.{name}: {mismatch}")
    problems.extend(
        f"field {cls.__name__}.{name} has no option" for name in fields if name not in filled
    )
    return problems


_PYTHON_TYPES: dict[OptionType, tuple[type, ...]] = {
    "str": (str,),
    "enum": (str,),
    "int": (int,),
    "size": (int,),
    "float": (float,),
    "time": (float,),
    "bool": (bool,),
    "list": (list,),
}


def _type_mismatch(option: Option, hint: Any) -> str | None:
    """Why ``hint`` cannot hold every value ``option`` resolves to, or ``None``."""
    args = typing.get_args(hint)
    optional = typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args
    if optional:
        rest = [arg for arg in args if arg is not type(None)]
        hint = rest[0] if len(rest) == 1 else hint
    can_be_none = option.default is None and not option.required and not option.multiple
    if can_be_none and not optional:
        return f"option {option.name} has no default, so the field must accept None"
    if optional and not can_be_none:
        return f"option {option.name} is never None, so the field should not be Optional"
    expected = (list,) if option.multiple else _PYTHON_TYPES[option.type]
    origin = typing.get_origin(hint)
    if origin is Literal:
        base: Any = type(typing.get_args(hint)[0])
    else:
        base = origin or hint
    if base not in expected:
        return f"option {option.name} ({option.type}) gives {expected[0].__name__}, not {hint}"
    return None
