"""Examples that staff add from the console, kept in their own Rasa 3.x file next to the training data.

`nlu/data/extra_examples.yml` is an ordinary training file (`version: "3.1"`, `nlu:`, `- intent: …`
with an `examples: |` block), so `load_training_data` and a Rasa server read it with the rest of
the folder. Staff may edit it by hand too; `add_example` rewrites it in the same shape (comments
other than the header are not kept). Engines read it when they are built: a new example counts
after the next start.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Final

import yaml

from nlu.normalise import Normaliser
from nlu.training_data import DATA_DIR, TrainingData, TrainingDataError, parse_rasa_yaml, yaml_files

EXTRA_FILE: Final[Path] = DATA_DIR / "extra_examples.yml"
MAX_EXAMPLE_CHARS: Final = 300

HEADER: Final = ("# Extra examples added by staff in the coach console (Rasa 3.x format).\n"
                 "# The chatbot learns them at its next start. You may edit this file by hand.\n")
_MARKUP_CHARS: Final = re.compile(r"[\[\]{}]")


class ExampleExists(ValueError):
    """The example is already a training example (of this or another intent)."""

    def __init__(self, text: str, intent: str) -> None:
        super().__init__(f"{text!r} is already an example of {intent!r}")
        self.text = text
        self.intent = intent


def clean_example(text: str) -> str:
    """Return text as one plain example line: one line, no entity markup, limited length."""
    flat = " ".join(_MARKUP_CHARS.sub(" ", text).split())
    return flat.lstrip("-# ").strip()[:MAX_EXAMPLE_CHARS]


def read_extra(path: Path = EXTRA_FILE) -> dict[str, list[str]]:
    """Return the staff examples per intent, in file order (an absent or empty file has none)."""
    if not path.exists():
        return {}
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    data = parse_rasa_yaml(content, str(path))
    return {intent: [ex.text for ex in examples] for intent, examples in data.intents.items()}


def render_extra(examples: dict[str, list[str]]) -> str:
    """Return the Rasa 3.x YAML text of the staff examples."""
    lines = [HEADER.rstrip("\n"), 'version: "3.1"']
    if not any(examples.values()):
        lines.append("nlu: []")
        return "\n".join(lines) + "\n"
    lines.append("nlu:")
    for intent, texts in examples.items():
        if not texts:
            continue
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in texts]
    return "\n".join(lines) + "\n"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock for a read-modify-write of `path` (across processes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@lru_cache(maxsize=4)
def _training(data_dir: Path, skip_name: str) -> tuple[tuple[str, ...], dict[str, str], Normaliser]:
    """Return the intents, the normalised examples of the other files → intent, and the normaliser (read once)."""
    data = TrainingData()
    for file in yaml_files(data_dir):
        content = yaml.safe_load(file.read_text(encoding="utf-8"))
        if isinstance(content, dict) and "nlu" in content:
            part = parse_rasa_yaml(content, str(file))
            if file.name == skip_name:  # the staff file: its intents count, its examples are read fresh
                part = TrainingData(intents={name: [] for name in part.intents}, synonyms=part.synonyms)
            data.merge(part)
    normalise = Normaliser(data.synonyms)
    known: dict[str, str] = {}
    for example in data.examples:
        known.setdefault(normalise(example.text), example.intent)
    return tuple(data.intent_names), known, normalise


def known_intents(data_dir: Path = DATA_DIR, path: Path = EXTRA_FILE) -> list[str]:
    """Return the intents an example may be added to, in training-file order."""
    return list(_training(data_dir.resolve(), path.name)[0])


def add_example(intent: str, text: str, path: Path = EXTRA_FILE, data_dir: Path = DATA_DIR) -> str:
    """Append one example to an intent in the staff file and return the stored text.

    Raises KeyError for an unknown intent, ValueError for an empty text and ExampleExists when the
    text (normalised as the engine does) already is an example: a repeat would only confuse training.
    """
    intents, known, normalise = _training(data_dir.resolve(), path.name)
    if intent not in intents:
        raise KeyError(intent)
    cleaned = clean_example(text)
    if not normalise(cleaned):
        raise ValueError("empty example")
    with _locked(path):
        current = read_extra(path)
        taken = dict(known)
        for name, texts in current.items():
            for existing in texts:
                taken.setdefault(normalise(existing), name)
        owner = taken.get(normalise(cleaned))
        if owner is not None:
            raise ExampleExists(cleaned, owner)
        current.setdefault(intent, []).append(cleaned)
        text_out = render_extra(current)
        if parse_rasa_yaml(yaml.safe_load(text_out), str(path)).texts(intent)[-1] != cleaned:
            raise TrainingDataError("the example did not survive a round trip")
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".extra-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text_out)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return cleaned
