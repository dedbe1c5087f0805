"""Sociale-kaart search (flows.kaart): age limits, pupil-only and crisis rules, ranking; and `kaart zoek`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from data.content import Contact, KaartEntry, load_kaart
from flows.kaart import (
    KaartIndex,
    filter_linked,
    limits_age,
    one_line,
    open_to_all_ages,
    parse_age_reply,
    rank,
    rank_scored,
    says_at_school,
    topics_from_keywords,
)
from flows.kaart_answers import entry_title, format_entry
from flows.texts import Texts

KAART = load_kaart()
BY_ID = {e.id: e for e in KAART}
INDEX = KaartIndex(KAART)
LIMITED = [e for e in KAART if e.min_age is not None or e.max_age is not None]
AGES = range(12, 40)
TEXTS = Texts()


def offered(entry: KaartEntry, age: int | None, **kwargs: object) -> bool:
    """Tell whether a search aimed squarely at `entry` offers it to a jongere of `age`."""
    texts = [entry.naam, f"ik zit nog op school, {entry.naam}", "ik heb een vraag"]
    topic_sets = [entry.onderwerpen, [entry.onderwerpen[0]], ["crisis", *entry.onderwerpen], []]
    return any(entry in rank(KAART, topics, age, text, "nl", index=INDEX, **kwargs)  # type: ignore[arg-type]
               for text in texts for topics in topic_sets)


def test_there_are_entries_with_age_limits():
    assert len(LIMITED) >= 10


@pytest.mark.parametrize("entry", LIMITED, ids=[e.id for e in LIMITED])
def test_just_outside_the_age_range_is_never_offered_and_just_inside_can_be(entry: KaartEntry):
    if entry.min_age is not None:
        assert not offered(entry, entry.min_age - 1)
        assert offered(entry, entry.min_age)
    if entry.max_age is not None:
        assert not offered(entry, entry.max_age + 1)
        assert offered(entry, entry.max_age)
    for age in AGES:  # and never anywhere outside the range, whatever the question
        if not entry.fits_age(age):
            assert not offered(entry, age), age


@pytest.mark.parametrize("entry", LIMITED, ids=[e.id for e in LIMITED])
def test_faq_links_obey_the_same_age_limits(entry: KaartEntry):
    for age in AGES:
        kept = filter_linked([entry], age, "ik zit nog op school")
        assert (entry in kept) == (entry.fits_age(age)), age


@pytest.mark.parametrize("text", ["ik ben 25 en wil terug naar school", "ik wil mijn diploma halen",
                                  "waar kan ik een opleiding doen", "RMC-bemiddeling", "wat doet het RMC"])
def test_rmc_is_never_offered_to_a_25_year_old_asking_about_school(text: str):
    ids = [e.id for e in rank(KAART, ["opleiding"], 25, text, index=INDEX)]
    assert ids
    assert "rmc-trajectbegeleiding" not in ids
    assert all(BY_ID[i].fits_age(25) for i in ids)


def test_rmc_is_offered_to_a_20_year_old_asking_about_school():
    ids = [e.id for e in rank(KAART, ["opleiding"], 20, "ik wil mijn diploma halen", index=INDEX)]
    assert "rmc-trajectbegeleiding" in ids[:6]


def test_pupil_only_programmes_are_for_18_and_under_or_for_who_is_at_school():
    pupils = {e.id for e in KAART if e.doelgroep_scholier}
    assert pupils
    adult = [e.id for e in rank(KAART, ["opleiding", "werk"], 24, "ik wil een opleiding", index=INDEX)]
    assert not pupils & set(adult)
    at_school = [e.id for e in rank(KAART, ["opleiding"], 20, "ik zit op het mbo en dreig uit te vallen",
                                    index=INDEX)]
    assert "jongerencoach-18plus" in at_school[:3]
    young = [e.id for e in rank(KAART, ["opleiding"], 17, "ik wil een opleiding", index=INDEX)]
    assert pupils & set(young)


def test_pupil_only_programmes_come_last_when_the_age_is_unknown():
    ranked = rank_scored(KAART, ["opleiding", "werk"], None, "ik wil een opleiding", index=INDEX)
    flags = [r.entry.doelgroep_scholier for r in ranked]
    assert set(flags) == {True, False}
    assert flags == sorted(flags)  # all False first, then all True
    assert all(r.demoted == r.entry.doelgroep_scholier for r in ranked)


def test_not_telling_the_age_keeps_only_entries_for_all_ages():
    for topic in ("opleiding", "werk", "uitkering", "gezondheid", "schulden"):
        entries = rank(KAART, [topic], None, f"ik heb een vraag over {topic}", all_ages_only=True, index=INDEX)
        assert entries, topic
        assert all(open_to_all_ages(e) for e in entries), topic


def test_crisis_lines_only_for_the_crisis_topic():
    crisis = {e.id for e in KAART if e.crisis}
    for topic in ("gezondheid", "netwerk", "wonen"):
        assert not crisis & {e.id for e in rank(KAART, [topic], 20, "hulp", index=INDEX)}
    assert crisis & {e.id for e in rank(KAART, ["crisis"], 20, "hulp", index=INDEX)}


def test_topic_ranking_puts_the_specific_service_first():
    assert rank(KAART, ["schulden"], 24, "ik heb schulden", index=INDEX)[0].id == "schuldhulpverlening"
    assert rank(KAART, ["justitie"], 24, "ik heb een strafblad", index=INDEX)[0].id == "reclassering"
    assert rank(KAART, ["wonen"], 24, "ik zoek een woning", index=INDEX)[0].id == "begeleid-wonen-kwintes"


def test_without_a_topic_only_named_entries_are_offered():
    assert [e.id for e in rank(KAART, [], 22, "wat doet Learn2Work eigenlijk?", index=INDEX)][:1] == ["learn2work"]
    for text in ("ik wil een pizza", "🙂🙂", "12345", "bla " * 2500, ""):
        assert rank(KAART, [], 22, text, index=INDEX) == []


def test_rank_works_without_a_prebuilt_index_and_is_deterministic():
    first = rank(KAART, ["werk"], 24, "ik zoek werk")
    assert first == rank(KAART, ["werk"], 24, "ik zoek werk", index=INDEX)
    assert rank([], ["werk"], 24, "ik zoek werk") == []


def test_every_entry_can_be_found_on_its_own_topic_at_a_fitting_age():
    for entry in KAART:
        age = entry.min_age if entry.min_age is not None else (entry.max_age or 20)
        age = min(age, 18) if entry.doelgroep_scholier and entry.min_age is None else age
        topics = ["crisis"] if entry.crisis else [entry.onderwerpen[0]]
        assert entry in rank(KAART, topics, age, entry.naam, index=INDEX), entry.id


@pytest.mark.parametrize("text, age, numeric", [
    ("24", 24, True), ("ik ben 24", 24, True), ("24 jaar", 24, True), ("Ik ben 24 jaar oud.", 24, True),
    ("I'm 19", 19, True), ("19 years old", 19, True), ("5", None, True), ("150", None, True),
    ("zeg ik liever niet", None, False), ("ik ben 24 en zoek werk", None, False), ("", None, False),
])
def test_parse_age_reply(text: str, age: int | None, numeric: bool):
    assert parse_age_reply(text) == (age, numeric)


def test_topic_keywords_and_school_signal():
    assert topics_from_keywords("Ik heb schulden en zoek een baan") == ["schulden", "werk"]
    assert topics_from_keywords("hallo") == []
    assert says_at_school("ik zit op het mbo") and says_at_school("Mijn mentor zegt dat")
    assert not says_at_school("ik wil terug naar een opleiding")


def test_limits_age_is_about_ages_16_to_27():
    assert not limits_age(BY_ID["jongerenloket"])  # 16-27 is everyone the desk serves
    assert limits_age(BY_ID["rmc-trajectbegeleiding"]) and limits_age(BY_ID["werk-en-inkomen"])


def test_one_line():
    assert one_line("Deze eerste zin is echt lang genoeg om helemaal alleen te staan. Tweede zin.") == \
        "Deze eerste zin is echt lang genoeg om helemaal alleen te staan."
    assert one_line("Kort. Tweede zin hoort erbij.") == "Kort. Tweede zin hoort erbij."
    assert len(one_line("x" * 1000)) == 240


def t_nl(key: str, **values: object) -> str:
    """Look up a Dutch text."""
    return TEXTS.get("nl", key, **values)


def test_an_entry_without_contact_data_shows_no_contact_line_and_never_none():
    for entry in KAART:
        block = format_entry(entry, "nl", t_nl)
        assert "None" not in block, entry.id
        if entry.contact_aanvullen or not entry.has_contact:
            assert "Contact:" not in block, entry.id
        assert block.startswith(f"• {entry_title(entry)}\n")
        assert "Hoe kom je erbij?" in block


def test_a_checked_contact_shows_only_the_known_routes():
    base = BY_ID["113-zelfmoordpreventie"]
    block = format_entry(base, "nl", t_nl)
    assert "Contact: bel 0800-0113; kijk op https://www.113.nl" in block
    phone_only = base.model_copy(update={"contact": Contact(telefoon="112")})
    line = [ln for ln in format_entry(phone_only, "nl", t_nl).splitlines() if ln.startswith("Contact:")]
    assert line == ["Contact: bel 112"]
    unchecked = BY_ID["veilig-thuis"]  # has a phone, but contact_aanvullen: not shown as a contact line
    assert "Contact:" not in format_entry(unchecked, "nl", t_nl)


def test_benefit_condition_is_mentioned():
    assert "uitkering hebben of aanvragen" in format_entry(BY_ID["werk-en-inkomen"], "nl", t_nl)
    assert "uitkering" not in format_entry(BY_ID["schuldhulpverlening"], "nl", t_nl).lower()
    english = format_entry(BY_ID["werk-en-inkomen"], "en", lambda k, **v: TEXTS.get("en", k, **v))
    assert "receive a benefit" in english and "How to get there:" in english


BIN = Path(sys.executable).parent / "jongerenloket"


def zoek(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `jongerenloket kaart zoek` as a user would, from another folder."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "LOG_LEVEL": "WARNING"}
    return subprocess.run([str(BIN), "kaart", "zoek", *args], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=180)


def test_kaart_zoek_json_shape(tmp_path: Path):
    result = zoek(tmp_path, "ik wil terug naar school", "--leeftijd", "25", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert isinstance(rows, list) and rows
    for row in rows:
        assert {"id", "naam", "organisatie", "min_age", "max_age", "score"} <= set(row)
        assert isinstance(row["score"], float)
        assert BY_ID[row["id"]].fits_age(25)
    assert "rmc-trajectbegeleiding" not in [row["id"] for row in rows]
    assert [row["score"] for row in rows if not BY_ID[row["id"]].doelgroep_scholier] == sorted(
        (row["score"] for row in rows if not BY_ID[row["id"]].doelgroep_scholier), reverse=True)


def test_kaart_zoek_readable_and_without_nlu(tmp_path: Path):
    result = zoek(tmp_path, "ik heb schulden", "--zonder-nlu")
    assert result.returncode == 0, result.stderr
    assert "Schuldhulpverlening" in result.stdout and " 1. " in result.stdout
    nothing = zoek(tmp_path, "🙂🙂", "--json", "--zonder-nlu")
    assert nothing.returncode == 0 and json.loads(nothing.stdout) == []
