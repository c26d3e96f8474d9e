"""The real-browser tier: Debian's headless chromium, driven by Selenium, against a live
`archive serve` on a temporary store. Skips (with the reason) where chromium is not installed;
.ci/run installs it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from archive.cli import cli
from tests.conftest import SEEDS, article_text
from tests.daemon import wait_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs Debian's chromium and chromium-driver "
                                                          "(apt-get install chromium chromium-driver; .ci/run does)"),
]
HOSTILE_TITLE = 'Hostile <script>document.title="pwned"</script>'
HOSTILE_BODY = 'An article with <img src=x onerror="document.title=\'pwned\'"> in it, about Iraq.'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("serve")
    folder = tmp / "seeds"
    shutil.copytree(SEEDS, folder)
    (folder / "hostile.txt").write_text(article_text(title=HOSTILE_TITLE, author="Eve Hacker", body=HOSTILE_BODY))
    db = str(tmp / "b.db")
    assert CliRunner().invoke(cli, ["--db", db, "ingest", str(folder)]).exit_code == 0
    seed = folder / "000_bec70df4e4b3c35a.txt"
    seed.write_text(seed.read_text().replace("renewed military presence", "renewed military presence (updated)")
                    .replace("Washington was compelled", "Washington, it now appears, was compelled"))
    assert CliRunner().invoke(cli, ["--db", db, "ingest", str(folder)]).exit_code == 0
    yield from serving(db, tmp)


def serving(db: str, tmp: Path) -> Iterator[dict[str, Any]]:
    """``archive serve`` on ``db`` until the generator is closed."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    log = open(tmp / "serve.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "archive", "--db", db, "serve", "--port", str(port)],
                            stderr=log, stdout=log, env=env)

    def up() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            assert proc.poll() is None, (tmp / "serve.log").read_text()
            return False

    try:
        wait_for(up, timeout=20)
        yield {"url": f"http://127.0.0.1:{port}", "tmp": tmp}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM or ""
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,900"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER or ""), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def texts(driver: Any, css: str) -> list[str]:
    """The rendered text of every element matching css, read in one script call.

    The page swaps its results in as you type, so an element found by one WebDriver call can be
    gone by the next (StaleElementReferenceException); one script call reads a consistent page."""
    return list(driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]), e => e.innerText.trim())", css))


def text(driver: Any, css: str) -> str:
    found = texts(driver, css)
    return found[0] if found else ""


def click(driver: Any, css: str) -> None:
    """Click the first element matching css, finding it again if the page swapped it meanwhile."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    for _ in range(20):
        try:
            driver.find_element(By.CSS_SELECTOR, css).click()
            return
        except StaleElementReferenceException:
            time.sleep(0.05)
    raise AssertionError(f"{css} kept being replaced")


def shot(driver: Any, name: str) -> None:
    """Screenshots for the docs, when asked for (ARCHIVE_SCREENSHOTS=folder)."""
    where = os.environ.get("ARCHIVE_SCREENSHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(where) / name))


def test_type_a_query_and_see_ranked_highlighted_hits(server: dict[str, Any], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server["url"] + "/")
    assert text(browser, "#total") == "3"
    box = browser.find_element(By.ID, "q")
    box.send_keys("withdrawal")
    # results as you type: no submit, the list updates and the URL follows
    wait_for(lambda: text(browser, "#total") == "1", timeout=10)
    marks = texts(browser, ".hit .snippet mark")
    assert marks and marks[0].lower().startswith("withdraw")  # stemmed: withdrawal, withdraw
    assert "q=withdrawal" in browser.current_url
    shot(browser, "serve-search.png")


def test_click_a_facet_and_the_count_changes(server: dict[str, Any], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server["url"] + "/?q=iraq")
    assert text(browser, "#total") == "3"
    facet = next(a for a in browser.find_elements(By.CSS_SELECTOR, "a.facet[data-kind=author]")
                 if a.text == "Bill Van Auken")
    facet.click()
    wait_for(lambda: text(browser, "#total") == "1", timeout=10)
    assert "Bill Van Auken" in text(browser, ".chips .chip")
    click(browser, ".chips .chip")
    wait_for(lambda: text(browser, "#total") == "3", timeout=10)


def test_open_an_article_and_its_revision_diff(server: dict[str, Any], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server["url"] + "/?q=renewed")
    browser.find_element(By.CSS_SELECTOR, ".hit a.title").click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "article.doc h1"), timeout=10)
    assert "(updated)" in text(browser, "article.doc h1")
    shot(browser, "serve-article.png")
    browser.find_element(By.CSS_SELECTOR, "a.difflink").click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".diff ins"), timeout=10)
    assert "it now appears," in " ".join(texts(browser, ".diff ins"))
    shot(browser, "serve-diff.png")


def test_a_hostile_article_renders_as_text(server: dict[str, Any], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server["url"] + "/?q=hostile")
    link = browser.find_element(By.CSS_SELECTOR, ".hit a.title")
    assert "<script>" in link.text
    link.click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "article.doc h1"), timeout=10)
    time.sleep(0.3)  # give an injected handler its chance to run
    assert browser.title != "pwned" and browser.title.startswith("Hostile <script>")
    assert "<img src=x" in text(browser, "article.doc .body")
    assert not browser.find_elements(By.CSS_SELECTOR, "article.doc img")


def test_the_page_on_a_phone_and_on_a_wide_screen(server: dict[str, Any], browser: Any) -> None:
    """At 390 px (issue 26): the search box, sort and button on screen, results before the facets
    (which open on demand), nothing wider than the screen on the search page or an article; at
    1280 px the facets sit beside the results, open. "/" puts the cursor in the search box."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    def layout() -> dict[str, Any]:
        return dict(browser.execute_script("""
            const r = (s) => { const e = document.querySelector(s); return e ? e.getBoundingClientRect() : null; };
            return {width: window.innerWidth, scroll: document.documentElement.scrollWidth,
                    q: r('#q'), sort: r('#sort'), button: r('#search button'), hits: r('.hits'),
                    facets: r('.facets'), open: document.getElementById('facets')?.open};"""))

    try:
        browser.set_window_size(390, 844)
        browser.get(server["url"] + "/?q=iraq")
        wait_for(lambda: text(browser, "#total") == "3", timeout=10)
        got = layout()
        assert got["scroll"] <= got["width"], got  # no sideways scrolling
        for k in ("q", "sort", "button"):
            assert got[k]["left"] >= 0 and got[k]["right"] <= got["width"] + 1, (k, got)
        assert got["hits"]["top"] < got["facets"]["top"] and got["open"] is False, got
        shot(browser, "serve-phone-search.png")
        browser.find_element(By.CSS_SELECTOR, ".hit a.title").click()
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "article.doc h1"), timeout=10)
        got = layout()
        assert got["scroll"] <= got["width"], got  # a long unbreakable title wraps too
        assert "q=iraq" in str(browser.find_element(By.ID, "back").get_attribute("href"))
        shot(browser, "serve-phone-article.png")
    finally:
        browser.set_window_size(1280, 900)
    browser.get(server["url"] + "/?q=iraq")
    wait_for(lambda: text(browser, "#total") == "3", timeout=10)
    got = layout()
    assert got["open"] is True and got["facets"]["left"] < got["hits"]["left"], got
    browser.find_element(By.TAG_NAME, "body").send_keys("/")
    assert browser.switch_to.active_element.get_attribute("id") == "q"
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    shot(browser, "serve-wide-search.png")


def test_open_a_story_its_copies_and_a_diff_against_one(tmp_path: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    from tests.test_stories import republished
    from tests.test_stories import text as body_of

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "wire.txt").write_text(article_text(title="Wire original", body=body_of(95)))
    (folder / "outlet.txt").write_text(article_text(title="Outlet copy", body=republished(body_of(95))))
    db = str(tmp_path / "s.db")
    assert CliRunner().invoke(cli, ["--db", db, "ingest", str(folder)]).exit_code == 0
    srv = serving(db, tmp_path)
    url = next(srv)["url"]
    try:
        browser.get(url + "/stories")
        assert "2 articles" in text(browser, ".story h2")
        click(browser, ".story table a[href^='/articles/']:not([href$='#story'])")
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "section.story"), timeout=10)
        assert "The same story elsewhere" in text(browser, "section.story h2")
        click(browser, "section.story a.difflink")
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#diff .diff"), timeout=10)
        assert "Compared with" in text(browser, "#diff h2")
        assert texts(browser, "#diff .diff ins") or texts(browser, "#diff .diff del")
    finally:
        srv.close()
