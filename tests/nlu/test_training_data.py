"""The Rasa-format training data loads, is complete and stays usable by a Rasa server."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from nlu.normalise import Normaliser
from nlu.training_data import DATA_DIR, TrainingData, TrainingDataError, load_training_data, parse_example
from tests.nlu.heldout import CRISIS_HELDOUT, CRISIS_HELDOUT_2
from tests.nlu.typical import TYPICAL

INTENTS = {
    "groet", "bedankt_doei", "vraag_schulden", "vraag_wonen", "vraag_werk", "vraag_opleiding",
    "vraag_uitkering", "vraag_gezondheid", "vraag_verslaving", "vraag_zorgtaken", "vraag_justitie",
    "afspraak_maken", "afspraak_wijzigen", "intake_starten", "mens_spreken", "privacy_inzien",
    "privacy_verwijderen", "afmelden", "crisis", "buiten_bereik",
}
TOPICS = {"schulden", "wonen", "werk", "opleiding", "uitkering", "gezondheid", "verslaving", "zorgtaken",
          "justitie"}


def test_every_intent_has_enough_examples(training_data: TrainingData) -> None:
    assert set(training_data.intents) == INTENTS
    for name, examples in training_data.intents.items():
        assert len(examples) >= 25, name
    assert len(training_data.intents["crisis"]) >= 60


def test_no_example_is_repeated_or_shared_between_intents(training_data: TrainingData) -> None:
    normalise = Normaliser(training_data.synonyms)
    seen: dict[str, list[str]] = defaultdict(list)
    for ex in training_data.examples:
        seen[normalise(ex.text)].append(ex.intent)
    assert {text: owners for text, owners in seen.items() if len(owners) > 1} == {}


def test_synonyms_and_lookups_load(training_data: TrainingData) -> None:
    assert training_data.synonyms["doekoe"] == "geld"
    assert training_data.synonyms["skeer"] == "blut"
    assert {name.removeprefix("onderwerp_") for name in training_data.lookups} == TOPICS
    assert "deurwaarder" in training_data.lookups["onderwerp_schulden"]
    assert "rood staan" in training_data.lookups["onderwerp_schulden"]


def test_entity_markup_is_stripped_and_kept(training_data: TrainingData) -> None:
    annotated = [ex for ex in training_data.examples if ex.entities]
    assert annotated
    for ex in annotated:
        assert "[" not in ex.text and "](" not in ex.text
        for entity in ex.entities:
            assert ex.text[entity.start:entity.end] == entity.value


@pytest.mark.parametrize(("raw", "text", "entity", "value"), [
    ("ik ben [24](leeftijd)", "ik ben 24", "leeftijd", "24"),
    ("geen [doekoe](geld:geld) meer", "geen doekoe meer", "geld", "geld"),
    ('ik heb [doekoe]{"entity": "onderwerp", "value": "schulden"} nodig', "ik heb doekoe nodig", "onderwerp",
     "schulden"),
    ('[hoi]{"entity": "x"} en [23](leeftijd)', "hoi en 23", "x", "hoi"),
])
def test_parse_example_markup(raw: str, text: str, entity: str, value: str) -> None:
    example, synonyms = parse_example(raw, "i")
    assert example.text == text
    first = example.entities[0]
    assert (first.entity, first.value) == (entity, value)
    assert text[first.start:first.end] == raw[raw.index("[") + 1:raw.index("]")]
    if value != text[first.start:first.end]:
        assert synonyms[text[first.start:first.end]] == value


def test_bad_entity_json_is_reported() -> None:
    with pytest.raises(TrainingDataError):
        parse_example('[x]{"entity": oops}')


def test_load_a_single_file_and_skip_non_rasa_yaml(tmp_path: Path) -> None:
    (tmp_path / "nlu.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: a\n  examples: |\n    - een\n    - [twee](getal)\n'
        "- intent: b\n  examples:\n    - text: drie\n- regex: postcode\n  examples: |\n    - \\d{4}\n",
        encoding="utf-8")
    (tmp_path / "other.yml").write_text("crisis_lexicon:\n  suicide: [x]\n", encoding="utf-8")
    data = load_training_data(tmp_path)
    assert data.texts("a") == ["een", "twee"]
    assert data.texts("b") == ["drie"]
    assert data.regexes == {"postcode": [r"\d{4}"]}
    assert load_training_data(tmp_path / "nlu.yml").texts("a") == ["een", "twee"]


def test_files_are_rasa_3_format() -> None:
    for file in sorted(DATA_DIR.glob("*.yml")):
        content = yaml.safe_load(file.read_text(encoding="utf-8"))
        if file.name == "crisis_lexicon.yml":
            assert "nlu" not in content  # Rasa must not read the lexicon as training data
            continue
        assert content["version"] == "3.1", file.name
        for item in content["nlu"]:
            assert len({"intent", "synonym", "lookup", "regex"} & set(item)) == 1, item
            assert isinstance(item["examples"], str) and item["examples"].lstrip().startswith("- "), item


def test_held_out_phrasings_are_not_training_examples(training_data: TrainingData) -> None:
    normalise = Normaliser(training_data.synonyms)
    known = {normalise(ex.text) for ex in training_data.examples}
    held_out = CRISIS_HELDOUT + CRISIS_HELDOUT_2 + [m for msgs in TYPICAL.values() for m in msgs]
    assert [text for text in held_out if normalise(text) in known] == []
