"""Read a run config from YAML and turn every mistake into `file:line: field: what was expected`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml
from pydantic import ValidationError

from onpar.config.schema import RunConfig

Location = tuple[str | int, ...]


class ConfigError(ValueError):
    """A config that cannot be used; the message lists every problem with its file and line."""


def load_config(path: Path) -> RunConfig:
    """Parse and validate ``path``; raise ConfigError naming file, line and field on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such config file") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid UTF-8 (byte {exc.start})") from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}:1: the config must be a mapping of fields (name, contestants, …)"
        )
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        lines = dict(_node_lines(root, ()))
        problems = [_describe(path, lines, err) for err in exc.errors()]
        raise ConfigError("invalid config:\n" + "\n".join(problems)) from None


def _describe(path: Path, lines: dict[Location, int], err: dict) -> str:
    loc = tuple(err["loc"])
    line = _best_line(lines, loc)
    field = ".".join(str(p) for p in _visible(loc)) or "(top level)"
    message = err["msg"]
    if err["type"] in {"missing"}:
        message = "required field is missing"
    elif err["type"] == "extra_forbidden":
        message = "unknown field (check the spelling; see docs/config.md)"
    return f"{path}:{line}: field '{field}': {message}"


def _visible(loc: Location) -> Location:
    """Drop pydantic's internal union tags (e.g. the discriminator value) from a location."""
    internal = {
        *("hf", "llamacpp", "openai", "anthropic", "google", "responses"),
        "function-after[_judge_needs_a_model(), tagged-union]",
    }
    return tuple(p for p in loc if not (isinstance(p, str) and (p in internal or "[" in p)))


def _best_line(lines: dict[Location, int], loc: Location) -> int:
    """Line of the deepest YAML node on the error's path (parents when the field is missing)."""
    visible = _visible(loc)
    for depth in range(len(visible), -1, -1):
        if visible[:depth] in lines:
            return lines[visible[:depth]]
    return 1


def _node_lines(node: yaml.Node | None, loc: Location) -> Iterator[tuple[Location, int]]:
    if node is None:
        return
    yield loc, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value
            yield (*loc, name), key.start_mark.line + 1
            yield from ((k, v) for k, v in _node_lines(value, (*loc, name)) if k != (*loc, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _node_lines(item, (*loc, index))
