"""In a real browser (Chromium via Playwright): keyboard rating, progress, admin, inert XSS."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.annotate.conftest import PreparedRun, prepared_run
from tests.annotate.runs import PROMPTS
from tests.annotate.server import serving

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need playwright (pip install playwright)"
)
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"browser tests need Chromium at {CHROMIUM}"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            timeout=20_000,
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking"],
        )
        yield launched
        launched.close()


@pytest.fixture
def served(run: PreparedRun) -> Iterator[tuple[PreparedRun, str]]:
    with serving(run.app()) as base:
        yield run, base


def _sign_in(browser, base: str, token: str):
    context = browser.new_context()
    context.set_default_timeout(5_000)
    page = context.new_page()
    page.goto(f"{base}/login#token={token}")
    assert "token=" not in page.url  # the key leaves the address bar at once
    page.click("#start")
    return page


def test_rater_rates_five_items_by_keyboard_and_admin_sees_them(browser, served) -> None:
    run, base = served
    page = _sign_in(browser, base, run.tokens["ann"])
    page.wait_for_selector("#rate-form")
    total = int(page.get_attribute("#progress", "max"))
    for done in range(5):
        assert page.inner_text("#progress-text") == f"{done} / {total} rated"
        current = page.url
        page.keyboard.press("3")
        page.wait_for_url(lambda url, before=current: url != before)
        page.wait_for_selector("#rate-form")
    assert page.inner_text("#progress-text") == f"5 / {total} rated"
    admin = _sign_in(browser, base, run.tokens["@admin"])
    admin.wait_for_selector("#raters")
    assert admin.inner_text('tr[data-rater="ann"] td.rated') == "5"
    assert admin.inner_text('tr[data-rater="bob"] td.rated') == "0"
    assert "5 ratings of 30" in admin.inner_text("#overall")


def test_skip_and_comment_and_flag_are_kept(browser, served) -> None:
    run, base = served
    page = _sign_in(browser, base, run.tokens["bob"])
    page.wait_for_selector("#rate-form")
    first = page.url
    page.keyboard.press("s")
    page.wait_for_url(lambda url: url != first)
    page.fill("textarea[name=comment]", "both fine, 7 is not pressed here")
    page.check("input[name=unsafe]")
    page.locator("body").click()
    second = page.url
    page.keyboard.press("1")
    page.wait_for_url(lambda url: url != second)
    page.click("text=← previous")
    assert page.input_value("textarea[name=comment]") == "both fine, 7 is not pressed here"
    assert page.is_checked("input[name=unsafe]")
    assert page.inner_text("#progress-text").startswith("1 /")


@pytest.fixture
def hostile_run(tmp_path: Path) -> PreparedRun:
    """A run whose only pair is the XSS prompt, so the first item shown carries the payloads."""
    return prepared_run(tmp_path / "run", prompts=[p for p in PROMPTS if p.id == "p3"])


def test_hostile_answers_stay_inert_in_the_browser(browser, hostile_run: PreparedRun) -> None:
    with serving(hostile_run.app()) as base:
        dialogs: list[str] = []
        page = _sign_in(browser, base, hostile_run.tokens["ann"])
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.wait_for_selector("#answer-a")
        page.wait_for_timeout(300)
        assert dialogs == []
        assert page.evaluate("window.__pwned") is None
        for side in ("#answer-a", "#answer-b"):
            assert page.locator(f"{side} script").count() == 0
            assert page.locator(f"{side} img").count() == 0
            assert page.locator(f"{side} [onerror]").count() == 0
            assert page.locator(f"{side} a").count() == 0  # javascript: links are plain text
            assert "<script>window.__pwned" in page.inner_text(side)  # shown, not run
            assert page.locator(f"{side} pre code").count() == 1  # code blocks kept
        page.click("text=click me", force=True)
        page.wait_for_timeout(100)
        assert page.evaluate("window.__pwned") is None and dialogs == []
