"""Tests for the sociale kaart and FAQ seed content and for data.content."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from data.content import (
    FAQ_FILE,
    KAART_FILE,
    ONDERWERPEN,
    SEED_DIR,
    Contact,
    FaqEntry,
    KaartEntry,
    Translated,
    dump_faq,
    dump_kaart,
    load_faq,
    load_kaart,
    parse_faq,
    parse_kaart,
    validate_content,
)

KAART_KEYS = [
    "id",
    "organisatie",
    "naam",
    "aanbod",
    "onderwerpen",
    "min_age",
    "max_age",
    "voorwaarden",
    "doelgroep_scholier",
    "vereist_uitkering",
    "aanmelden",
    "contact",
    "contact_aanvullen",
    "bron",
    "last_checked",
    "eigenaar",
    "crisis",
]
FAQ_KEYS = ["id", "onderwerpen", "vragen", "antwoord", "kaart", "last_checked"]

# Every organisation/programme the brief names (study tables 1-3, chapter 3, safety lines):
# expected id -> a fragment that must occur in that entry's naam (case-insensitive).
REQUIRED_KAART = {
    "jinc": "JINC",
    "almere-on-stage": "Almere on Stage",
    "stage-to-work": "Stage to Work",
    "leerplicht": "Leerplicht",
    "leerplicht-verzuimspreekuren": "verzuimspreekuren",
    "leerplicht-ouderbetrokkenheid": "ouderbetrokkenheid",
    "leerplicht-meldnorm": "meldnorm",
    "leerplicht-huisbezoeken": "huisbezoeken",
    "rmc-trajectbegeleiding": "RMC",
    "eduvier-atc": "Eduvier",
    "startklaar-diploma": "Startklaar diploma",
    "jobcoaches": "Jobcoach",
    "oke-op-school": "Oké op school",
    "jongerencoach-18plus": "Jongerencoach 18+",
    "werk-en-inkomen": "Werk en Inkomen",
    "wi-team-zorg": "Team Zorg",
    "wi-team-werk": "Team Werk",
    "wi-iwb": "IWB",
    "gedifferentieerde-entree": "Gedifferentieerde Entree",
    "almeerkans": "Almeerkans",
    "warme-overdracht": "Warme Overdracht",
    "lec": "LEC",
    "choose2improve": "Choose2improve",
    "matching-talents": "Matching Talents",
    "full-stichting-twisted": "Full",
    "binnenste-buiten": "Binnenste Buiten",
    "intowork": "IntoWork",
    "meiden-met-pit": "Meiden met Pit",
    "flevodrome": "Flevodrome",
    "learn2work": "Learn2Work",
    "wijkteams": "wijkteam",
    "schuldhulpverlening": "Schuldhulpverlening",
    "budgetcoach": "Budgetcoach",
    "113-zelfmoordpreventie": "113",
    "112-alarmnummer": "112",
    "veilig-thuis": "Veilig Thuis",
    "huisarts": "Huisarts",
    "huisartsenpost": "Huisartsenpost",
}

# Offers the study describes as reachable only through school (pupils).
PUPIL_ONLY = {
    "jinc",
    "almere-on-stage",
    "stage-to-work",
    "leerplicht-verzuimspreekuren",
    "leerplicht-ouderbetrokkenheid",
    "leerplicht-meldnorm",
    "eduvier-atc",
    "startklaar-diploma",
    "jobcoaches",
    "oke-op-school",
    "jongerencoach-18plus",
    "budgetcoach",
}
# W&I "is er in principe voor jongeren die een uitkering hebben" (Tabel 2/3).
NEEDS_UITKERING = {"werk-en-inkomen", "wi-team-zorg", "wi-team-werk", "wi-iwb"}
CRISIS_IDS = {"113-zelfmoordpreventie", "112-alarmnummer", "veilig-thuis"}

REQUIRED_FAQ = {
    "bijstand-vanaf-18",
    "bijstand-onder-27",
    "bijstand-vanaf-27",
    "studiefinanciering-of-bijstand",
    "wat-is-startkwalificatie",
    "wat-is-entree",
    "rmc-tot-23",
    "wat-kost-het",
    "hoe-lang-duurt-het",
    "privacy-gegevens",
    "werken-zonder-diploma",
    "leren-en-werken-bbl",
    "kinderopvang-opleiding",
    "strafblad-vog",
    "schulden-hulp",
    "dakloos-geen-slaapplek",
    "verslaving-hulp",
    "psychische-klachten",
    "mantelzorg",
    "vaste-begeleider",
    "afspraak-maken",
    "iemand-meenemen",
    "nederlands-niet-goed",
}

# Dutch phone numbers: 0xx-xxxxxxx, 0xxx-xxxxxx, 06-xxxxxxxx, and 0800/0900 service numbers.
PHONE_RE = re.compile(r"(?<!\d)0\d{1,3}[- ]?\d{6,8}(?!\d)|(?<!\d)0[89]00[- ]?\d{4,7}(?!\d)")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@pytest.fixture(scope="module")
def kaart() -> list[KaartEntry]:
    return load_kaart(KAART_FILE)


@pytest.fixture(scope="module")
def faq() -> list[FaqEntry]:
    return load_faq(FAQ_FILE)


@pytest.fixture(scope="module")
def by_id(kaart: list[KaartEntry]) -> dict[str, KaartEntry]:
    return {e.id: e for e in kaart}


@pytest.fixture(scope="module")
def crisis_numbers(kaart: list[KaartEntry]) -> set[str]:
    return {_digits(e.contact.telefoon) for e in kaart if e.crisis and e.contact.telefoon}


# --- seed files -------------------------------------------------------------------------------


def test_seed_dir_points_at_data_seed() -> None:
    expected = Path(__file__).resolve().parent.parent / "data" / "seed"
    assert expected == SEED_DIR
    assert KAART_FILE.parent == SEED_DIR
    assert FAQ_FILE.parent == SEED_DIR


def test_seed_files_load_and_validate_without_problems(kaart, faq) -> None:
    assert kaart
    assert faq
    assert validate_content(kaart, faq) == []


def test_seed_entries_use_exactly_the_documented_keys() -> None:
    raw_kaart = yaml.safe_load(KAART_FILE.read_text(encoding="utf-8"))
    raw_faq = yaml.safe_load(FAQ_FILE.read_text(encoding="utf-8"))
    for item in raw_kaart:
        assert list(item) == KAART_KEYS, item.get("id")
        assert list(item["contact"]) == ["telefoon", "website", "chat"], item["id"]
        assert set(item["aanbod"]) == {"nl", "en"}
        assert set(item["aanmelden"]) == {"nl", "en"}
    for item in raw_faq:
        assert list(item) == FAQ_KEYS, item.get("id")


@pytest.mark.parametrize(("entry_id", "name"), sorted(REQUIRED_KAART.items()))
def test_required_organisation_present(by_id, entry_id: str, name: str) -> None:
    assert entry_id in by_id, f"missing kaart entry {entry_id}"
    assert name.lower() in by_id[entry_id].naam.lower()


def test_every_entry_is_complete_and_bilingual(kaart) -> None:
    for e in kaart:
        assert e.aanbod.nl and e.aanbod.en, e.id
        assert e.aanmelden.nl and e.aanmelden.en, e.id
        assert all(v.nl and v.en for v in e.voorwaarden), e.id
        assert e.bron and e.eigenaar == "redactie", e.id
        assert e.last_checked == date(2026, 11, 28), e.id
        assert set(e.onderwerpen) <= ONDERWERPEN, e.id


# --- age limits (study wording: "tot 23" exclusive, "tot en met"/"15-23" inclusive) ---------------


def test_rmc_stops_before_23(by_id) -> None:
    rmc = by_id["rmc-trajectbegeleiding"]
    assert rmc.max_age is not None and rmc.max_age <= 22
    assert rmc.fits_age(22)
    assert not rmc.fits_age(23)
    assert not rmc.fits_age(25)


def test_leerplicht_rmc_items_follow_rmc_limit(by_id) -> None:
    for entry_id in ("leerplicht-verzuimspreekuren", "leerplicht-huisbezoeken", "leerplicht-meldnorm"):
        assert by_id[entry_id].max_age == 22


def test_flevodrome_is_15_to_23_inclusive(by_id) -> None:
    flevodrome = by_id["flevodrome"]
    assert (flevodrome.min_age, flevodrome.max_age) == (15, 23)
    assert flevodrome.fits_age(23)
    assert not flevodrome.fits_age(14)
    assert not flevodrome.fits_age(24)


def test_choose2improve_is_17_to_23_inclusive(by_id) -> None:
    c2i = by_id["choose2improve"]
    assert (c2i.min_age, c2i.max_age) == (17, 23)
    assert c2i.fits_age(17) and c2i.fits_age(23)
    assert not c2i.fits_age(16) and not c2i.fits_age(24)


def test_jongerencoach_is_18_plus_and_loket_is_16_to_27(by_id) -> None:
    assert by_id["jongerencoach-18plus"].min_age == 18
    loket = by_id["jongerenloket"]
    assert (loket.min_age, loket.max_age) == (16, 27)


# --- flags ------------------------------------------------------------------------------------


def test_pupil_only_entries_flagged(kaart) -> None:
    flagged = {e.id for e in kaart if e.doelgroep_scholier}
    assert flagged == PUPIL_ONLY


def test_uitkering_entries_flagged(kaart) -> None:
    assert {e.id for e in kaart if e.vereist_uitkering} == NEEDS_UITKERING


def test_only_safety_lines_are_crisis(kaart) -> None:
    assert {e.id for e in kaart if e.crisis} == CRISIS_IDS
    for e in kaart:
        assert ("crisis" in e.onderwerpen) == e.crisis, e.id


# --- contact facts ------------------------------------------------------------------------------


def test_crisis_line_contacts(by_id) -> None:
    line_113 = by_id["113-zelfmoordpreventie"]
    assert line_113.contact.telefoon == "0800-0113"
    assert line_113.contact.website == "https://www.113.nl"
    assert line_113.contact.chat is not None and "113.nl" in line_113.contact.chat
    assert by_id["112-alarmnummer"].contact.telefoon == "112"
    veilig = by_id["veilig-thuis"]
    assert veilig.contact.telefoon == "0800-2000"
    assert veilig.contact.website == "https://veiligthuis.nl"


def test_non_crisis_entries_have_no_contact_facts(kaart) -> None:
    for e in kaart:
        if e.crisis:
            continue
        assert e.contact == Contact(), e.id
        assert e.contact_aanvullen, e.id
        assert not e.has_contact, e.id


def test_huisartsenpost_contact_left_for_staff(by_id) -> None:
    post = by_id["huisartsenpost"]
    assert not post.has_contact
    assert post.contact_aanvullen


def test_no_phone_number_in_non_crisis_entries(kaart) -> None:
    for e in kaart:
        if not e.crisis:
            assert PHONE_RE.findall(dump_kaart([e])) == [], e.id


def test_seed_texts_only_mention_crisis_numbers(crisis_numbers) -> None:
    assert crisis_numbers == {"08000113", "08002000", "112"}
    for path in (KAART_FILE, FAQ_FILE):
        for match in PHONE_RE.findall(path.read_text(encoding="utf-8")):
            assert _digits(match) in crisis_numbers, f"{path.name}: unexpected number {match}"


def test_phone_regex_catches_typical_numbers() -> None:
    for number in ("036-1234567", "0361234567", "06-12345678", "020 1234567", "0800-1234", "0900-0123"):
        assert PHONE_RE.search(f"bel {number} nu"), number
    assert not PHONE_RE.search("last_checked: 2026-11-28, 16 tot en met 27 jaar, bel 112")


# --- FAQ --------------------------------------------------------------------------------------


def test_faq_size_and_variants(faq) -> None:
    assert len(faq) >= 35
    for e in faq:
        assert len(e.vragen) >= 4, e.id
        assert len(set(e.vragen)) == len(e.vragen), e.id
        assert e.antwoord.nl and e.antwoord.en, e.id
        assert e.last_checked == date(2026, 11, 28), e.id


def test_faq_covers_required_questions(faq) -> None:
    missing = REQUIRED_FAQ - {e.id for e in faq}
    assert not missing, missing


def test_faq_answers_are_short(faq) -> None:
    for e in faq:
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", e.antwoord.nl) if s]
        assert 2 <= len(sentences) <= 5, (e.id, len(sentences))


def test_faq_key_facts(faq) -> None:
    answers = {e.id: e.antwoord.nl for e in faq}
    assert "18" in answers["bijstand-vanaf-18"]
    assert "4 weken" in answers["bijstand-onder-27"] and "W&I" in answers["bijstand-onder-27"]
    assert "23" in answers["rmc-tot-23"]
    assert "gratis" in answers["wat-kost-het"]
    assert "havo, vwo of mbo niveau 2" in answers["wat-is-startkwalificatie"]
    privacy = answers["privacy-gegevens"]
    assert "'privacy'" in privacy and "'stop'" in privacy and "begeleider" in privacy
    assert "0800-0113" in answers["zelfmoordgedachten"] and "112" in answers["zelfmoordgedachten"]
    assert "0800-2000" in answers["geweld-thuis"]


def test_faq_links_point_to_existing_kaart_entries(kaart, faq) -> None:
    ids = {e.id for e in kaart}
    for e in faq:
        assert set(e.kaart) <= ids, e.id


# --- model behaviour ----------------------------------------------------------------------------


def _entry(**update: object) -> KaartEntry:
    base = KaartEntry(
        id="voorbeeld",
        organisatie="Org",
        naam="Voorbeeld",
        aanbod=Translated(nl="Tekst.", en="Text."),
        onderwerpen=["werk"],
        aanmelden=Translated(nl="Vraag je begeleider.", en="Ask your coach."),
        bron="Tabel 3",
        last_checked=date(2026, 11, 28),
    )
    return base.model_copy(update=update, deep=True)


def test_fits_age() -> None:
    open_ended = _entry()
    assert open_ended.fits_age(None) and open_ended.fits_age(5) and open_ended.fits_age(40)
    bounded = _entry(min_age=16, max_age=22)
    assert bounded.fits_age(None)
    assert bounded.fits_age(16) and bounded.fits_age(22)
    assert not bounded.fits_age(15) and not bounded.fits_age(23)
    assert _entry(min_age=18).fits_age(99)
    assert not _entry(max_age=22).fits_age(23)


def test_has_contact_and_defaults() -> None:
    entry = _entry()
    assert not entry.has_contact
    assert entry.contact_aanvullen and entry.eigenaar == "redactie" and not entry.crisis
    assert _entry(contact=Contact(website="https://example.org")).has_contact
    assert not _entry(contact=Contact(telefoon="", website=None, chat="")).has_contact


def test_translated_in_lang() -> None:
    text = Translated(nl="Hallo", en="Hello")
    assert text.in_lang("nl") == "Hallo"
    assert text.in_lang("en") == "Hello"
    assert Translated(nl="Hallo", en="").in_lang("en") == "Hallo"


# --- round trip -------------------------------------------------------------------------------


def test_round_trip_dump_and_load(kaart, faq, tmp_path: Path) -> None:
    kaart_file = tmp_path / "kaart.yml"
    faq_file = tmp_path / "faq.yml"
    kaart_text = dump_kaart(kaart, kaart_file)
    faq_text = dump_faq(faq, faq_file)
    assert kaart_file.read_text(encoding="utf-8") == kaart_text
    assert load_kaart(kaart_file) == kaart
    assert load_faq(faq_file) == faq
    assert parse_kaart(kaart_text) == kaart
    assert parse_faq(faq_text) == faq
    # a second pass is byte-identical
    assert dump_kaart(parse_kaart(kaart_text)) == kaart_text
    assert dump_faq(parse_faq(faq_text)) == faq_text


def test_dump_keeps_key_order_and_plain_dates(kaart) -> None:
    text = dump_kaart(kaart[:1])
    assert list(yaml.safe_load(text)[0]) == KAART_KEYS
    assert "last_checked: 2026-11-28" in text


def test_empty_documents_load_as_empty_lists() -> None:
    assert parse_kaart("") == []
    assert parse_faq("# nothing yet\n") == []


def test_loader_rejects_bad_structure() -> None:
    with pytest.raises(ValueError):
        parse_kaart("id: not-a-list\n")
    good = dump_kaart([_entry()])
    with pytest.raises(ValidationError):
        parse_kaart(good.replace("eigenaar: redactie", "eigenaar: redactie\n  telefoonnummer: '1'"))
    with pytest.raises(ValidationError):
        parse_kaart(good.replace("  naam: Voorbeeld\n", ""))


# --- validate_content on deliberately broken copies ---------------------------------------------

Breaker = Callable[[list[KaartEntry], list[FaqEntry]], None]


def _dup_kaart(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    k.append(k[0].model_copy(deep=True))


def _dup_faq(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    f.append(f[0].model_copy(deep=True))


def _ages(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    k[0] = k[0].model_copy(update={"min_age": 23, "max_age": 22})


def _negative_age(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    k[0] = k[0].model_copy(update={"min_age": -1})


def _kaart_topic(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    k[0] = k[0].model_copy(update={"onderwerpen": ["werk", "sport"]})


def _faq_topic(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    f[0] = f[0].model_copy(update={"onderwerpen": ["geld"]})


def _no_topic(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    k[0] = k[0].model_copy(update={"onderwerpen": []})


def _unknown_ref(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    f[0] = f[0].model_copy(update={"kaart": [*f[0].kaart, "bestaat-niet"]})


def _empty_aanbod(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    k[0] = k[0].model_copy(update={"aanbod": Translated(nl="  ", en="Text")})


def _empty_aanmelden(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    k[0] = k[0].model_copy(update={"aanmelden": Translated(nl="", en="Text")})


def _empty_voorwaarde(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    k[0] = k[0].model_copy(update={"voorwaarden": [Translated(nl="", en="x")]})


def _empty_antwoord(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    f[0] = f[0].model_copy(update={"antwoord": Translated(nl="", en="Answer")})


def _contact_flag(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    k[0] = k[0].model_copy(update={"contact": Contact(), "contact_aanvullen": False})


def _bad_id(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    k[0] = k[0].model_copy(update={"id": "Niet Kebab"})


def _no_vragen(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    f[0] = f[0].model_copy(update={"vragen": []})


def _blank_vraag(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    f[0] = f[0].model_copy(update={"vragen": [*f[0].vragen, " "]})


def _crisis_without_phone(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    k[0] = k[0].model_copy(update={"crisis": True})


def _empty_naam(k: list[KaartEntry], f: list[FaqEntry]) -> None:
    k[0] = k[0].model_copy(update={"naam": ""})


BREAKERS: dict[str, tuple[Breaker, str]] = {
    "duplicate kaart id": (_dup_kaart, "duplicate id"),
    "duplicate faq id": (_dup_faq, "duplicate id"),
    "min_age > max_age": (_ages, "min_age 23 > max_age 22"),
    "negative age": (_negative_age, "negative min_age"),
    "unknown kaart onderwerp": (_kaart_topic, "unknown onderwerp 'sport'"),
    "unknown faq onderwerp": (_faq_topic, "unknown onderwerp 'geld'"),
    "no onderwerpen": (_no_topic, "no onderwerpen"),
    "faq.kaart unknown id": (_unknown_ref, "unknown kaart id 'bestaat-niet'"),
    "empty aanbod nl": (_empty_aanbod, "aanbod: empty nl text"),
    "empty aanmelden nl": (_empty_aanmelden, "aanmelden: empty nl text"),
    "empty voorwaarde nl": (_empty_voorwaarde, "voorwaarden[0]: empty nl text"),
    "empty antwoord nl": (_empty_antwoord, "antwoord: empty nl text"),
    "contact_aanvullen false without contact": (_contact_flag, "contact_aanvullen is false"),
    "id not kebab-case": (_bad_id, "not kebab-case"),
    "faq without vragen": (_no_vragen, "no vragen"),
    "blank vraag": (_blank_vraag, "empty vraag"),
    "crisis without telefoon": (_crisis_without_phone, "crisis line without telefoon"),
    "empty naam": (_empty_naam, "empty naam"),
}


@pytest.mark.parametrize("case", sorted(BREAKERS))
def test_validate_content_catches_problem(kaart, faq, case: str) -> None:
    breaker, expected = BREAKERS[case]
    broken_kaart = [e.model_copy(deep=True) for e in kaart]
    broken_faq = [e.model_copy(deep=True) for e in faq]
    breaker(broken_kaart, broken_faq)
    problems = validate_content(broken_kaart, broken_faq)
    assert problems, case
    assert any(expected in p for p in problems), problems
    # the seed itself stays untouched and clean
    assert validate_content(kaart, faq) == []


# --- module boundaries --------------------------------------------------------------------------


def test_content_module_imports_no_project_package() -> None:
    source = (SEED_DIR.parent / "content.py").read_text(encoding="utf-8")
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, "no relative imports"
            roots.add(node.module.split(".")[0])
    forbidden = {"bot", "flows", "nlu", "coach_console", "data", "sqlalchemy", "alembic"}
    assert not roots & forbidden
    assert roots <= {"__future__", "re", "collections", "datetime", "pathlib", "typing", "yaml", "pydantic"}
