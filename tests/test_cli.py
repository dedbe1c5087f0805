"""The command line, run as a user would: from another folder, settings from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "jongerenloket"


def run(args: list[str], tmp_path: Path, stdin: str = "", extra_env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "LOG_LEVEL": "WARNING",
           **(extra_env or {})}
    return subprocess.run([str(BIN), *args], cwd=tmp_path, env=env, input=stdin, text=True,
                          capture_output=True, timeout=timeout)


def test_db_upgrade_works_from_any_folder(tmp_path):
    result = run(["db", "upgrade"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cli.db").exists()


def test_coach_add_prints_password_once_and_refuses_duplicates(tmp_path):
    run(["db", "upgrade"], tmp_path)
    first = run(["coach", "add", "--name", "Sam", "--email", "sam@example.org", "--role", "begeleider"], tmp_path)
    assert first.returncode == 0 and "password (shown once):" in first.stdout
    again = run(["coach", "add", "--name", "Sam", "--email", "SAM@example.org", "--role", "begeleider"], tmp_path)
    assert again.returncode == 2 and "exists already" in again.stderr
    demo = run(["coach", "demo"], tmp_path)
    assert "exist already" in demo.stdout


@pytest.mark.parametrize("lang_choice, expected", [("2", "What can I help you with?"),
                                                    ("1", "Waar kan ik je mee helpen?")])
def test_terminal_chat_welcome_language_menu(tmp_path, lang_choice, expected):
    result = run(["chat"], tmp_path, stdin=f"{lang_choice}\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Welkom bij het Jongerenloket" in out
    assert "1. Nederlands" in out and "2. English" in out
    assert expected in out
    assert out.index("Welkom") < out.index(expected)
