"""The served leaderboard in a real browser (Debian's chromium driven by Playwright).

Screenshots are written to tests/artifacts/leaderboard/ (ignored by git).
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hepbench.leaderboard.db import open_store
from hepbench.leaderboard.imports import add_records, add_results
from hepbench.leaderboard.queue import work
from hepbench.leaderboard.submissions import sync_challenges
from hepbench.leaderboard.testing import free_port, synthetic_record

pytestmark = pytest.mark.slow  # minutes in all: the full suite runs it, `-m "not slow"` skips it

REPO = Path(__file__).resolve().parents[1]
BDT_RECORD = REPO / "docs" / "results" / "higgs_bdt_template_fit_small_10x50.json"
ARTIFACTS = REPO / "tests" / "artifacts" / "leaderboard"
EXPECTED_ORDER = ["strong", "bdt-template-fit", "weak", "last"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`hepbench leaderboard serve` (a real uvicorn process) on a leaderboard with the real BDT
    baseline and three synthetic ones."""
    home = tmp_path_factory.mktemp("browser-lb")
    url = f"sqlite:///{home / 'lb.db'}"
    store = open_store(home, url)
    sync_challenges(store)
    add_results(store, BDT_RECORD)
    add_records(
        store,
        [
            synthetic_record("weak", -0.5, width=1.2, mae=0.7),
            synthetic_record("last", -3.0),
            synthetic_record("strong", 0.6, width=0.6),
        ],
    )
    work(store)
    store.close()
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hepbench",
            "leaderboard",
            "serve",
            "--home",
            str(home),
            "--db",
            url,
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/challenges.json", timeout=2):
                break
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited: {proc.stderr.read().decode()[-2000:]}") from None
            assert time.monotonic() < deadline, "serve did not answer within 60 s"
            time.sleep(0.2)
    yield base
    proc.terminate()
    proc.wait(timeout=30)
    proc.stderr.close()


@pytest.fixture(scope="module")
def browser(chromium_path):
    playwright = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=["--no-sandbox"])
        yield browser
        browser.close()


def test_table_shows_the_ranking_order(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/index.html")
    page.click("text=Public test")
    page.wait_for_selector("#leaderboard")
    methods = page.locator("#leaderboard tbody td.method a").all_inner_texts()
    ranks = page.locator("#leaderboard tbody td.rank").all_inner_texts()
    assert methods == EXPECTED_ORDER and ranks == ["1", "2", "3", "4"]
    assert page.locator("#leaderboard tbody tr.baseline").count() == 4
    assert page.locator("#leaderboard tbody tr").nth(1).locator(".tag.baseline").inner_text() == "baseline"
    page.screenshot(path=str(ARTIFACTS / "phase-desktop.png"), full_page=True)
    page.close()


def test_detail_page_shows_its_plots(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/challenges/higgs-uncertainty/public.html")
    page.click("#leaderboard >> text=bdt-template-fit")
    page.wait_for_selector("h1:has-text('bdt-template-fit')")
    images = page.locator(".plots img")
    assert images.count() == 2
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    widths = page.eval_on_selector_all(".plots img", "els => els.map(e => e.naturalWidth)")
    assert all(w > 100 for w in widths), widths  # the PNGs really loaded
    metrics = page.locator("#metrics").inner_text()
    assert "coverage score" in metrics and "-0.008" in metrics and "0.139" in metrics
    page.screenshot(path=str(ARTIFACTS / "submission-desktop.png"), full_page=True)
    page.close()


def test_csv_download(server, browser, tmp_path):
    page = browser.new_page(accept_downloads=True)
    page.goto(f"{server}/challenges/higgs-uncertainty/public.html")
    with page.expect_download() as info:
        page.click("text=CSV")
    download = info.value
    assert download.suggested_filename == "higgs-uncertainty-public.csv"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    with target.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["method"] for r in rows] == EXPECTED_ORDER
    assert float(rows[0]["coverage_score"]) == pytest.approx(0.6)
    page.close()


def test_readable_on_a_phone(server, browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(f"{server}/challenges/higgs-uncertainty/public.html")
    # the page itself does not scroll sideways; the wide table scrolls inside its frame
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    frame = page.locator(".scroll").first
    assert frame.evaluate("e => e.scrollWidth > e.clientWidth")
    assert frame.evaluate("e => getComputedStyle(e).overflowX") == "auto"
    page.screenshot(path=str(ARTIFACTS / "phase-phone.png"), full_page=True)
    page.goto(f"{server}/challenges/higgs-uncertainty/public.html")
    page.click("#leaderboard >> text=bdt-template-fit")
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.locator(".plots img").first.bounding_box()
    assert box is not None and box["width"] <= 390
    page.screenshot(path=str(ARTIFACTS / "submission-phone.png"), full_page=True)
    context.close()


def test_columns_sort_from_the_keyboard(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/challenges/higgs-uncertainty/public.html")
    header = page.locator("#leaderboard th.primary")
    rank = page.locator("#leaderboard th.rank")
    assert rank.get_attribute("aria-sort") == "ascending" and header.get_attribute("aria-sort") is None
    methods = lambda: page.locator("#leaderboard tbody td.method a").all_inner_texts()  # noqa: E731
    header.locator("button").focus()
    page.keyboard.press("Enter")  # higher is better: best first
    assert header.get_attribute("aria-sort") == "descending" and rank.get_attribute("aria-sort") is None
    assert methods() == EXPECTED_ORDER
    page.keyboard.press("Space")
    assert header.get_attribute("aria-sort") == "ascending" and methods() == EXPECTED_ORDER[::-1]
    page.locator("#leaderboard th", has_text="participant").locator("button").click()
    assert page.locator("#leaderboard th[aria-sort]").count() == 1
    page.close()


def test_primary_metric_stays_on_a_phone_screen(server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{server}/challenges/higgs-uncertainty/public.html")
    page.locator(".scroll").first.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    for cell in page.locator("#leaderboard th.primary, #leaderboard td.primary").all():
        box = cell.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    context.close()
