"""Age and topic entities."""

from __future__ import annotations

import pytest

from nlu.entities import EntityExtractor, TopicMatcher, extract_ages
from nlu.training_data import TrainingData


@pytest.mark.parametrize(("text", "age"), [
    ("ik ben 24", 24), ("24 jaar", 24), ("24jr", 24), ("ben 23 jr oud", 23), ("i'm 25", 25), ("im 25", 25),
    ("I am 19 years old", 19), ("leeftijd: 26", 26), ("Leeftijd 27", 27), ("ik ben al 25 jaar", 25),
    ("hoi ik ben 16 en zoek werk", 16), ("ik word 18 volgende maand", 18), ("ik ben nu 23, kan ik hulp", 23),
    ("age: 21", 21), ("ik ben 22.", 22),
])
def test_age(text: str, age: int) -> None:
    found = extract_ages(text)
    assert [e.value for e in found] == [age]
    assert text[found[0].start:found[0].end] == str(age)


@pytest.mark.parametrize("text", [
    "bel 0800-1234", "bel 0800 1234 567", "het kost €24", "ik heb 24 euro", "ik ben 24 uur wakker",
    "om 12:30 ben ik er", "op 24-05 kan ik", "24/5", "ik woon hier al 20 jaar", "15 jaar geleden",
    "ik ben 9", "ik ben 120", "ik ben 10 minuten te laat", "ik ben 30 euro kwijt", "24 uur",
    "ik heb 3 kinderen", "postcode 1312", "ik ben 24-05 jarig",
])
def test_not_an_age(text: str) -> None:
    assert extract_ages(text) == []


@pytest.mark.parametrize(("text", "topics"), [
    ("ik heb schulden", ["schulden"]),
    ("ik heb schuldne", ["schulden"]),
    ("de deurwarder kwam", ["schulden"]),
    ("ik sta rood", ["schulden"]),
    ("geen wonig en geen werk", ["wonen", "werk"]),
    ("ik wil mn diplooma", ["opleiding"]),
    ("mn strafbald", ["justitie"]),
    ("ik blow te veel", ["verslaving"]),
    ("ik zoek kinderopvang", ["zorgtaken"]),
    ("bijstand aanvragen", ["uitkering"]),
    ("ik moet naar de huisarts", ["gezondheid"]),
    ("hoi hoe gaat het", []),
    ("ik ga naar schoon huis", ["wonen"]),
])
def test_topics(training_data: TrainingData, text: str, topics: list[str]) -> None:
    found = TopicMatcher(training_data.lookups).find(text)
    assert [e.value for e in found] == topics
    assert all(e.entity == "onderwerp" for e in found)


def test_extractor_orders_entities_by_position(training_data: TrainingData) -> None:
    text = "ik heb schulden en ben 24 jaar"
    found = EntityExtractor(training_data.lookups).extract(text)
    assert [(e.entity, e.value, text[e.start:e.end]) for e in found] == [
        ("onderwerp", "schulden", "schulden"), ("leeftijd", 24, "24")]
