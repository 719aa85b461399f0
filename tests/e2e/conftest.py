"""The web console in a real browser: Playwright driving Debian's chromium against a real
`streamhouse serve` (tests/conftest.py's ServerProcess), with axe-core on every page.

Screenshots go to the test's folder, or to $STREAMHOUSE_SCREENSHOTS (`make screenshots`
writes docs/console/ with them)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from streamhouse import console

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As the machine's notes say: no sandbox as root, and no background calls to the network.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    # Playwright's sync API runs an event loop of its own in this thread while it is
    # open: closed with this package, before the asyncio tests of the others run.
    assert console.built(), "the console is not built: run `make console` (Node 20 and npm)"
    assert AXE.is_file(), "axe-core is missing: run `npm ci` in web/"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


class Console:
    """One browser tab on one agent's console, and what it saw go wrong."""

    def __init__(self, page: Page, base: str, shots: Path) -> None:
        self.page = page
        self.base = base
        self.shots = shots
        self.errors: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def open(self, path: str) -> Page:
        self.page.goto(self.base + path)
        return self.page

    def shot(self, name: str) -> None:
        self.shots.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def axe(self, what: str) -> None:
        """No serious or critical accessibility violation on what the page shows now."""
        self.page.add_script_tag(path=str(AXE))
        result: dict[str, Any] = self.page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})")
        bad = [f"{v['id']} ({v['impact']}): {v['help']} — "
               + "; ".join(n["target"][0] for n in v["nodes"][:3])
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, f"{what}: " + "\n".join(bad)


@pytest.fixture
def tab_factory(browser: Browser, tmp_path: Path) -> Iterator[Any]:
    made: list[tuple[Any, Console]] = []
    shots = Path(os.environ.get("STREAMHOUSE_SCREENSHOTS") or tmp_path / "shots")

    def make(base: str) -> Console:
        context = browser.new_context(viewport={"width": 1400, "height": 900},
                                      timezone_id="UTC", locale="en-US")
        context.set_default_timeout(15_000)
        tab = Console(context.new_page(), base, shots)
        made.append((context, tab))
        return tab

    yield make
    for context, tab in made:
        context.close()
        assert not tab.errors, tab.errors  # an uncaught error in the page is a bug
