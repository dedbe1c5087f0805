"""Load Rasa 3.x NLU training data (intents, synonyms, lookup tables, regexes) from YAML files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nlu.types import Entity

DATA_DIR = Path(__file__).resolve().parent / "data"
"""The training data shipped with the package."""

# [text](entity) · [text](entity:value) · [text]{"entity": "x", "value": "y", ...}
_MARKUP_RE = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]*)\)|(?P<json>\{[^}]*\}))")


class TrainingDataError(ValueError):
    """The training data is malformed."""


@dataclass(frozen=True)
class Example:
    """One training sentence, markup stripped, with its annotated entities."""

    text: str
    intent: str
    entities: tuple[Entity, ...] = ()


@dataclass
class TrainingData:
    """Everything the NLU learns from: examples per intent, synonyms and lookup tables."""

    intents: dict[str, list[Example]] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)
    lookups: dict[str, list[str]] = field(default_factory=dict)
    regexes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def examples(self) -> list[Example]:
        """Return all examples, intent by intent."""
        return [ex for examples in self.intents.values() for ex in examples]

    @property
    def intent_names(self) -> list[str]:
        """Return the intent names in file order."""
        return list(self.intents)

    def texts(self, intent: str) -> list[str]:
        """Return the plain texts of one intent's examples."""
        return [ex.text for ex in self.intents.get(intent, [])]

    def with_examples(self, examples: Iterable[Example]) -> TrainingData:
        """Return a copy holding only `examples` (same synonyms and lookups), e.g. for a CV fold."""
        intents: dict[str, list[Example]] = {}
        for ex in examples:
            intents.setdefault(ex.intent, []).append(ex)
        return TrainingData(intents=intents, synonyms=dict(self.synonyms),
                            lookups={k: list(v) for k, v in self.lookups.items()},
                            regexes={k: list(v) for k, v in self.regexes.items()})

    def merge(self, other: TrainingData) -> None:
        """Add the contents of `other` to this object."""
        for name, examples in other.intents.items():
            self.intents.setdefault(name, []).extend(examples)
        self.synonyms.update(other.synonyms)
        for name, values in other.lookups.items():
            self.lookups.setdefault(name, []).extend(values)
        for name, values in other.regexes.items():
            self.regexes.setdefault(name, []).extend(values)


def parse_example(raw: str, intent: str = "") -> tuple[Example, dict[str, str]]:
    """Strip Rasa entity markup from one example; return it and any synonyms the markup implies."""
    parts: list[str] = []
    entities: list[Entity] = []
    synonyms: dict[str, str] = {}
    pos = 0
    length = 0
    for match in _MARKUP_RE.finditer(raw):
        before = raw[pos:match.start()]
        parts.append(before)
        length += len(before)
        value_text = match.group("text")
        name, value = _entity_name_value(match, value_text, raw)
        start = length
        parts.append(value_text)
        length += len(value_text)
        entities.append(Entity(entity=name, value=value, start=start, end=length, extractor="training"))
        if value != value_text:
            synonyms[value_text.lower()] = str(value)
        pos = match.end()
    parts.append(raw[pos:])
    return Example(text="".join(parts), intent=intent, entities=tuple(entities)), synonyms


def _entity_name_value(match: re.Match[str], text: str, raw: str) -> tuple[str, str]:
    short = match.group("short")
    if short is not None:
        name, _, value = short.partition(":")
        if not name.strip():
            raise TrainingDataError(f"entity without a name in example: {raw!r}")
        return name.strip(), value.strip() or text
    try:
        spec = json.loads(match.group("json"))
    except json.JSONDecodeError as exc:
        raise TrainingDataError(f"bad entity JSON in example: {raw!r}") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("entity"), str):
        raise TrainingDataError(f"entity JSON needs an 'entity' key: {raw!r}")
    return spec["entity"], str(spec.get("value", text))


def _example_lines(block: Any, where: str) -> list[str]:
    if block is None:
        return []
    if isinstance(block, str):
        lines = []
        for line in block.splitlines():
            stripped = line.strip()
            if not stripped:
                continue
            if not stripped.startswith("-"):
                raise TrainingDataError(f"{where}: example lines must start with '- ': {stripped!r}")
            lines.append(stripped[1:].strip())
        return [line for line in lines if line]
    if isinstance(block, list):  # the long form: a list of {text: ..., metadata: ...}
        out = []
        for item in block:
            text = item.get("text") if isinstance(item, dict) else item
            if isinstance(text, str) and text.strip():
                out.append(text.strip())
        return out
    raise TrainingDataError(f"{where}: 'examples' must be a block string or a list")


def parse_rasa_yaml(content: Any, source: str = "<yaml>") -> TrainingData:
    """Turn the parsed content of one Rasa YAML file into TrainingData."""
    data = TrainingData()
    if not isinstance(content, dict):
        return data
    items = content.get("nlu") or []
    if not isinstance(items, list):
        raise TrainingDataError(f"{source}: 'nlu' must be a list")
    for item in items:
        if not isinstance(item, dict):
            raise TrainingDataError(f"{source}: every 'nlu' entry must be a mapping")
        lines = _example_lines(item.get("examples"), source)
        if "intent" in item:
            intent = str(item["intent"])
            bucket = data.intents.setdefault(intent, [])
            for line in lines:
                example, synonyms = parse_example(line, intent)
                bucket.append(example)
                data.synonyms.update(synonyms)
        elif "synonym" in item:
            canonical = str(item["synonym"])
            for line in lines:
                data.synonyms[line.lower()] = canonical
        elif "lookup" in item:
            data.lookups.setdefault(str(item["lookup"]), []).extend(lines)
        elif "regex" in item:
            data.regexes.setdefault(str(item["regex"]), []).extend(lines)
    return data


def yaml_files(path: Path) -> list[Path]:
    """Return the YAML files at `path` (a file, or a folder searched recursively), sorted."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.suffix in {".yml", ".yaml"} and p.is_file())


def load_training_data(path: Path | str | None = None) -> TrainingData:
    """Load every Rasa NLU YAML file in a folder (or one file); files without an `nlu` key are skipped."""
    root = Path(path) if path is not None else DATA_DIR
    if not root.exists():
        raise FileNotFoundError(root)
    data = TrainingData()
    for file in yaml_files(root):
        with file.open(encoding="utf-8") as fh:
            content = yaml.safe_load(fh)
        if isinstance(content, dict) and "nlu" in content:
            data.merge(parse_rasa_yaml(content, str(file)))
    return data
