"""What the browser tests share: Chromium's place and flags, the skip when it is missing, SQLite only."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

try:
    import playwright.async_api as _playwright
except ImportError:  # pragma: no cover - reported by the skip below
    _playwright = None  # type: ignore[assignment]

SKIP_WITHOUT_BROWSER = [
    pytest.mark.skipif(_playwright is None, reason="Playwright for Python is not installed (make install)"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium "
                                                     "(make install runs apt-get install -y chromium)"),
]


@pytest.fixture(params=["sqlite"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any, sqlite_template: Any) -> str:
    """Run the browser tests on SQLite only: they test the pages, the data tests cover PostgreSQL."""
    path = tmp_path / "browser.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"
