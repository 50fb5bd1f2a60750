"""Reading vigil.yml: YAML in, a validated `VigilConfig` out, or one ConfigError that names
every problem with its line and the fix (the keys allowed there, the values expected)."""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, Union

import yaml
from pydantic import BaseModel, ValidationError

from vigil.errors import ConfigError
from vigil.sections import literal_kind


def load_config(path: str | Path, model: type[BaseModel]) -> Any:
    """Read and validate a vigil.yml; every problem becomes a ConfigError naming its line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file '{p}' does not exist; check the path given to --config"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"config file '{p}' cannot be read ({exc}); it must be a UTF-8 YAML file"
        ) from None
    return parse_config(text, str(p), model)


def parse_config(text: str, name: str, model: type[BaseModel]) -> Any:
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"{name}{where}: not valid YAML ({problem}); fix the syntax there"
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{name}: the top level must be a mapping of sections (cameras:, detector:, ...)"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(err, root, name, model) for err in exc.errors()]
        raise ConfigError("; ".join(problems)) from None


def _describe(err: Any, root: yaml.Node | None, name: str, model: type[BaseModel]) -> str:
    loc, target = _walk(model, tuple(err["loc"]))
    path = ".".join(str(p) for p in loc) or "(top level)"
    # An unknown key is pointed at by its own line, not by its value's (a block below it).
    line = _line_of(root, loc, at_key=err["type"] == "extra_forbidden")
    where = f"{name} line {line}" if line else name
    if err["type"] == "extra_forbidden":
        parent = _walk(model, tuple(err["loc"])[:-1])[1]
        allowed = _fields(parent)
        hint = f"allowed keys here: {', '.join(allowed)}" if allowed else "remove it"
        return f"{where}: unknown key '{loc[-1]}' at {path}; {hint}"
    if err["type"] == "missing":
        return f"{where}: {path} is required but missing; add it"
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        kinds = _kinds(target)
        got = (err.get("ctx") or {}).get("tag")
        return f"{where}: {path}.kind: unknown kind {got!r}; use one of {', '.join(kinds)}"
    msg = err["msg"].removeprefix("Value error, ")
    given = err.get("input")
    shown = f" (got {given!r})" if not isinstance(given, dict | list) and given is not None else ""
    return f"{where}: {path}: {msg}{shown}"


def _walk(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], Any]:
    """The error's path as the user wrote it (without pydantic's union tags), and the type
    found at its end (None where the path leaves the models)."""
    current: Any = model
    clean: list[Any] = []
    for key in loc:
        members = _members(current)
        tagged = {literal_kind(m): m for m in members if _has_kind(m)}
        if tagged and isinstance(key, str) and key in tagged:
            current = tagged[key]  # pydantic's tag of a discriminated union: not a key
            continue
        current = members[0] if len(members) == 1 else None
        clean.append(key)
        if isinstance(key, int):
            args = typing.get_args(current)
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            # Not model_fields[key].annotation: a field declared before its model's class
            # keeps an unresolved ForwardRef there.
            current = typing.get_type_hints(current).get(key)
        else:
            current = None
    return tuple(clean), current


def _members(tp: Any) -> list[Any]:
    """X | None -> [X]; a union -> its members; anything else -> [it]."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        return [a for a in typing.get_args(tp) if a is not type(None)]
    return [tp]


def _has_kind(tp: Any) -> bool:
    """A plug-in section: its `kind` is one fixed string (runner's `kind` is a choice)."""
    if not (isinstance(tp, type) and issubclass(tp, BaseModel) and "kind" in tp.model_fields):
        return False
    return len(typing.get_args(tp.model_fields["kind"].annotation)) == 1


def _kinds(tp: Any) -> list[str]:
    return [repr(literal_kind(m)) for m in _members(tp) if _has_kind(m)]


def _fields(tp: Any) -> list[str]:
    members = _members(tp)
    if len(members) == 1 and isinstance(members[0], type) and issubclass(members[0], BaseModel):
        return list(members[0].model_fields)
    return []


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...], at_key: bool = False) -> int | None:
    """The 1-based line of the deepest YAML node on the error's path (of its key if `at_key`)."""
    node, line = root, None
    for key in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(key):
                    nxt, line = v, k.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            nxt = node.value[key]
        node = nxt
    if node is not None and not at_key:
        line = node.start_mark.line + 1
    return line
