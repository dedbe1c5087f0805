"""Staff examples in nlu/data/extra_examples.yml: Rasa 3.x format, a clean round trip, loaded with the rest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from nlu.extra_examples import EXTRA_FILE, ExampleExists, add_example, clean_example, known_intents, read_extra
from nlu.training_data import DATA_DIR, load_training_data


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Return a copy of the training data folder to write in."""
    folder = tmp_path / "data"
    shutil.copytree(DATA_DIR, folder, ignore=shutil.ignore_patterns("*.lock"))
    return folder


def test_the_shipped_file_is_rasa_3_and_loads_with_the_folder() -> None:
    content = yaml.safe_load(EXTRA_FILE.read_text(encoding="utf-8"))
    assert content["version"] == "3.1" and isinstance(content["nlu"], list)
    assert EXTRA_FILE in list(DATA_DIR.glob("*.yml"))  # load_training_data reads the whole folder


def test_added_examples_round_trip_and_train_the_intent(data_dir: Path) -> None:
    extra = data_dir / "extra_examples.yml"
    before = load_training_data(data_dir).texts("vraag_wonen")
    assert add_example("vraag_wonen", "mag mijn [hond] mee\nnaar de opvang", extra, data_dir) == \
        "mag mijn hond mee naar de opvang"
    add_example("vraag_wonen", "  waar kan ik slapen vannacht als mn huisbaas me eruit zet  ", extra, data_dir)
    add_example("vraag_werk", "ik zoek een bijbaantje: 4 uur/week #help", extra, data_dir)
    text = extra.read_text(encoding="utf-8")
    assert 'version: "3.1"' in text and "- intent: vraag_wonen\n  examples: |\n    - mag mijn hond" in text
    assert read_extra(extra) == {"vraag_wonen": ["mag mijn hond mee naar de opvang",
                                                 "waar kan ik slapen vannacht als mn huisbaas me eruit zet"],
                                 "vraag_werk": ["ik zoek een bijbaantje: 4 uur/week #help"]}
    data = load_training_data(data_dir)
    assert sorted(data.texts("vraag_wonen")) == sorted([*before, *read_extra(extra)["vraag_wonen"]])
    assert "ik zoek een bijbaantje: 4 uur/week #help" in data.texts("vraag_werk")


def test_repeats_unknown_intents_and_empty_texts_are_refused(data_dir: Path) -> None:
    extra = data_dir / "extra_examples.yml"
    shipped = load_training_data(DATA_DIR).texts("groet")[0]
    with pytest.raises(ExampleExists) as found:
        add_example("vraag_werk", shipped.upper(), extra, data_dir)
    assert found.value.intent == "groet"
    add_example("vraag_werk", "bijbaan gezocht", extra, data_dir)
    with pytest.raises(ExampleExists):
        add_example("vraag_wonen", "Bijbaan  gezocht", extra, data_dir)
    with pytest.raises(KeyError):
        add_example("bestaat_niet", "hallo daar", extra, data_dir)
    with pytest.raises(ValueError):
        add_example("vraag_werk", " [ ] ", extra, data_dir)
    assert "vraag_werk" in known_intents(data_dir, extra) and "crisis" in known_intents(data_dir, extra)
    assert clean_example("- # [x](y) {z}") == "x (y) z"
