"""The search page in a real headless browser, served by `newswire serve` over an index `newswire run --once` wrote.

The corpus is the seed article and the development set (eval/articles), plus one hostile
article whose title, URL and body carry markup. The test also keeps docs/search-page.png, a
screenshot of the page over that corpus, up to date.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from pipeline.index.embedded import EmbeddedIndex
from pipeline.search import SearchQuery
from tests.conftest import REPO, SEEDS
from tests.integration.browser import headless_chromium

pytestmark = pytest.mark.integration

SCREENSHOT = REPO / "docs" / "search-page.png"
HOSTILE_TITLE = '<script>window.__pwned = 1; document.title = "pwned"</script><img src=x onerror="window.__pwned = 2"> Quillfeather & co'
CORPUS_TIME = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc).timestamp()  # every copied file's mtime: a page that looks the same each run


def _corpus(home: Path) -> tuple[Path, Path]:
    news, letters = home / "news", home / "letters"
    news.mkdir()
    letters.mkdir()
    for source in [*sorted(SEEDS.glob("*.txt")), *sorted((REPO / "eval" / "articles").glob("*.txt"))]:
        target = news / source.name
        shutil.copy(source, target)
        os.utime(target, (CORPUS_TIME, CORPUS_TIME))
    hostile = {
        "id": 'letters/"><svg onload=alert(1)>',
        "title": HOSTILE_TITLE,
        "url": "javascript:window.__pwned = 3",
        "published_at": "2001-01-01T00:00:00Z",
        "body": 'A reader wrote to Quillfeather: "<b onmouseover=alert(1)>Bold claims</b> need <a href=javascript:alert(2)>proof</a>," '
                "said Mallory Quillfeather, the editor of the letters page.",
    }
    (letters / "hostile.json").write_text(json.dumps(hostile), encoding="utf-8")
    return news, letters


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """`newswire serve` on loopback over the corpus; yields (base URL, index path)."""
    home = tmp_path_factory.mktemp("site")
    news, letters = _corpus(home)
    config = home / "newswire.yaml"
    config.write_text(yaml.safe_dump({
        "data_dir": str(home / "data"),
        "connectors": [{"type": "files", "name": "news", "path": str(news)}, {"type": "files", "name": "letters", "path": str(letters)}],
    }), encoding="utf-8")
    cli = [sys.executable, "-m", "pipeline.cli"]
    ran = subprocess.run([*cli, "run", "--once", "-c", str(config)], cwd=REPO, env=_clean_env(), capture_output=True, text=True, timeout=900)
    assert ran.returncode == 0, ran.stderr
    log = home / "serve.log"
    with log.open("wb") as handle:
        server = subprocess.Popen([*cli, "serve", "-c", str(config), "--port", "0"], cwd=REPO, env=_clean_env(), stdout=handle, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while "serving" not in log.read_text() and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        line = next((line for line in log.read_text().splitlines() if "serving" in line), None)
        assert line, f"newswire serve did not start: {log.read_text()}"
        base = line.split(" at ", 1)[1].split("/ ", 1)[0]
        assert base.startswith("http://127.0.0.1:"), line
        yield base, home / "data" / "index.sqlite"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert server.returncode == 0, log.read_text()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = headless_chromium(tmp_path_factory.mktemp("chromium") / "profile")
    driver.implicitly_wait(10)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(predicate, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _params(driver) -> dict[str, list[str]]:
    return parse_qs(urlsplit(driver.current_url).query)


def test_search_blinken_then_the_speaker_facet_shows_both_of_his_quotes(site, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    base, index_path = site
    browser.get(base + "/")
    box = browser.find_element(By.ID, "q")
    assert browser.find_element(By.CSS_SELECTOR, "label[for=q]").text == "Search articles"
    box.send_keys("Blinken", Keys.ENTER)
    _wait(lambda: _params(browser).get("q") == ["Blinken"], "the search for Blinken")

    speakers = browser.find_element(By.CSS_SELECTOR, 'section[data-facet="speaker"]')
    speakers.find_element(By.LINK_TEXT, "Antony Blinken").click()
    _wait(lambda: _params(browser).get("speaker") == ["Antony Blinken"], "the speaker facet")

    with EmbeddedIndex(index_path) as index:
        found = index.quotes(SearchQuery(text="Blinken", speaker="Antony Blinken"))
    expected = [hit.quote.text for hit in found if hit.quote.kind == "direct"]
    assert len(expected) == 2, expected
    shown = browser.find_elements(By.CSS_SELECTOR, ".result .quote-direct")
    assert [q.find_element(By.TAG_NAME, "blockquote").get_attribute("textContent") for q in shown] == expected
    assert all(q.find_element(By.CSS_SELECTOR, ".said .speaker").text == "Antony Blinken" for q in shown)
    assert all(q.is_displayed() for q in shown)

    browser.find_element(By.LINK_TEXT, "Who said what").click()
    _wait(lambda: urlsplit(browser.current_url).path == "/quotes", "the quotes view")
    group = browser.find_element(By.CSS_SELECTOR, ".speaker-group")
    assert group.find_element(By.CSS_SELECTOR, "h2 a").text == "Antony Blinken"
    direct = group.find_elements(By.CSS_SELECTOR, ".quote-direct blockquote")
    assert [b.get_attribute("textContent") for b in direct] == expected
    reported = group.find_elements(By.CSS_SELECTOR, ".quote-indirect")
    assert len(reported) == len(found) - 2 and all("reported" in r.find_element(By.CSS_SELECTOR, ".said").text for r in reported)


def test_more_under_a_facet_loads_the_longer_list_from_the_api_in_place(site, browser):
    from selenium.webdriver.common.by import By

    base, _ = site
    browser.get(base + "/")
    people = browser.find_element(By.CSS_SELECTOR, 'section[data-facet="person"]')
    assert len(people.find_elements(By.CSS_SELECTOR, "li")) == 10
    people.find_element(By.CSS_SELECTOR, "a.more").click()
    _wait(lambda: len(people.find_elements(By.CSS_SELECTOR, "li")) > 10, "the longer list of people")
    assert urlsplit(browser.current_url).query == "", "the list grew in place; the page did not change"
    first = people.find_element(By.CSS_SELECTOR, "li a")
    assert parse_qs(urlsplit(first.get_attribute("href")).query) == {"person": [first.text]}


def test_a_hostile_title_renders_as_text_and_runs_nothing(site, browser):
    from selenium.webdriver.common.by import By

    base, _ = site
    browser.get(base + "/?q=Quillfeather")
    title = browser.find_element(By.CSS_SELECTOR, ".result h2.title a")
    assert title.text == HOSTILE_TITLE
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
    assert "pwned" not in browser.title
    assert browser.find_elements(By.CSS_SELECTOR, "main img, main svg, main b, main script") == []
    assert browser.find_elements(By.CSS_SELECTOR, "a[href^='javascript'], a.original") == [], "the javascript: URL is no link"

    title.click()
    _wait(lambda: urlsplit(browser.current_url).path == "/article", "the article page")
    assert browser.find_element(By.TAG_NAME, "h1").text == HOSTILE_TITLE
    body = browser.find_element(By.CSS_SELECTOR, ".article .body")
    assert "<b onmouseover=alert(1)>Bold claims</b>" in body.text
    assert body.find_elements(By.CSS_SELECTOR, "b, img, svg, script, a[href^='javascript']") == []
    assert browser.execute_script("return typeof window.__pwned") == "undefined"


def test_the_screenshot_in_docs_shows_the_page_over_the_seed_and_eval_articles(site, browser):
    base, _ = site
    browser.set_window_size(1280, 1500)
    browser.get(base + "/")
    _wait(lambda: browser.execute_script("return document.readyState") == "complete", "the page to load")
    png = browser.get_screenshot_as_png()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    if not SCREENSHOT.exists() or SCREENSHOT.read_bytes() != png:
        SCREENSHOT.write_bytes(png)
