"""CLI helper, engine loading and the purity of the nlu package."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import nlu
from nlu.commands import parse_lines
from nlu.crisis import CrisisDetector
from nlu.engine import EmbeddedNLU
from nlu.rasa import RasaNLU

NLU_DIR = Path(nlu.__file__).resolve().parent
FORBIDDEN = {"bot", "flows", "data", "coach_console", "telegram", "twilio", "sqlalchemy", "starlette"}


def test_parse_lines(engine: EmbeddedNLU) -> None:
    rows = list(parse_lines(["hoi\n", "\n", "ik ben 24 en heb schulden\r\n"], engine))
    assert [row["text"] for row in rows] == ["hoi", "ik ben 24 en heb schulden"]
    assert set(rows[0]) == {"text", "intent", "confidence", "entities"}
    assert rows[0]["intent"] == "groet"
    assert {"entity": "leeftijd", "value": 24, "start": 7, "end": 9, "extractor": "embedded"} in rows[1]["entities"]
    assert len(list(parse_lines(["", "hoi"], engine, skip_blank=False))) == 2


def test_parse_lines_with_crisis(engine: EmbeddedNLU, detector: CrisisDetector) -> None:
    rows = list(parse_lines(["ik wil dood", "hoi"], engine, detector=detector))
    assert rows[0]["crisis"]["category"] == "suicide"
    assert rows[1]["crisis"] is None


def test_load_engine() -> None:
    embedded = nlu.load_engine()
    assert embedded is nlu.default_engine()  # built once per process
    assert nlu.default_crisis_detector() is nlu.default_crisis_detector()
    rasa = nlu.load_engine("rasa", rasa_url="http://127.0.0.1:9")
    assert isinstance(rasa, RasaNLU) and rasa.fallback is embedded
    with pytest.raises(ValueError, match="URL"):
        nlu.load_engine("rasa")
    with pytest.raises(ValueError, match="unknown"):
        nlu.load_engine("spacy")


def test_nlu_imports_no_project_or_channel_package() -> None:
    for file in NLU_DIR.rglob("*.py"):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            assert not {n.split(".")[0] for n in names} & FORBIDDEN, (file.name, names)


def test_importing_nlu_loads_no_forbidden_module() -> None:
    code = ("import sys, nlu, nlu.engine, nlu.crisis, nlu.rasa, nlu.evaluate, nlu.commands;"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN)!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_types_import_is_light() -> None:
    code = "import sys, nlu.types; print('sklearn' in sys.modules, 'httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False False"
