"""The .html report: one self-contained page whose model text stays text, the same bytes for the
same results, and a page that works in a real headless Chromium (tests/chromium.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pytest_promptcheck.drift_view import DriftView
from pytest_promptcheck.reports.base import ReportInput
from pytest_promptcheck.reports.html import embedded_json
from pytest_promptcheck.reports.registry import write_report
from tests.cdp import PageSession
from tests.chromium import Browser, needs_chromium, pixels
from tests.html_records import HOSTILE, POLICY, many, showcase, single

ERRORS = [{"node": "support.prompt.yaml::big", "error": "openai: HTTP 401 after 1 try"}]
MOVED_EFFECTS = ("regressed", "improved", "changed", "same", "new")
MOVED_FIRST = ["polite", "refund", "sampled", "hostile", "json-ticket", "tools"]


def write(path: Path, records: Any = None, errors: Any = None) -> Path:
    report = ReportInput(
        DriftView(records or showcase(), POLICY), ERRORS if errors is None else errors
    )
    write_report(path, report)
    return path


class Tags(HTMLParser):
    """Elements by tag, with their attributes, and the text of the document."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def rows(self) -> list[str]:
        return [str(a["data-case"]) for _, a in self.tags if "data-case" in a]


def chips(dom: str) -> dict[str, str]:
    """Each effect chip's value with the count it shows."""
    found = re.findall(r'data-value="(\w+)"[^>]*>\w+<b>(\d+)</b>', dom)
    return {value: count for value, count in found if value in MOVED_EFFECTS}


# --- the file itself ---


def test_the_same_results_write_the_same_bytes_whatever_order_they_arrive_in(
    tmp_path: Path,
) -> None:
    records = showcase()
    shuffled = records[:]
    random.Random(7).shuffle(shuffled)
    first = write(tmp_path / "a.html", records).read_bytes()
    assert write(tmp_path / "b.html", shuffled).read_bytes() == first


def test_model_text_cannot_end_the_data_block_or_make_markup(tmp_path: Path) -> None:
    html = write(tmp_path / "r.html").read_text()
    assert html.count("</script>") == 2  # the data block's and the script's own
    assert "<img" not in html and "<!--" not in html
    data = re.search(r'id="promptcheck-data">(.*?)</script>', html, re.S)
    assert data is not None
    assert HOSTILE in data.group(1).encode().decode("unicode_escape")
    assert embedded_json(["<&>\u2028\u2029"]) == '["\\u003c\\u0026\\u003e\\u2028\\u2029"]'


def test_the_page_requests_nothing_and_runs_only_its_own_script(tmp_path: Path) -> None:
    html = write(tmp_path / "r.html").read_text()
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    script = re.search(r"<script>(.*)</script>", html, re.S)
    assert policy is not None and script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy.group(1)
    assert "default-src 'none'" in policy.group(1)
    shell = re.sub(r'id="promptcheck-data">.*?</script>', "", html, flags=re.S)
    assert not re.search(r"https?:|//[a-z]|src=|href=|@import|url\(", shell)


def test_judges_keep_their_reasoning_and_other_checks_write_what_they_wrote(
    tmp_path: Path,
) -> None:
    data = json.loads(
        re.search(  # type: ignore[union-attr]
            r'id="promptcheck-data">(.*?)</script>', write(tmp_path / "r.html").read_text(), re.S
        ).group(1)
    )
    polite = next(r for r in data["rows"] if r["case"] == "polite")["cells"][0]
    assert polite["now"][0]["judge"] == [
        ['judge "polite and on topic"', False, "Curt; it does not answer the refund question."]
    ]
    assert polite["checks"][1] == ['judge "polite and on topic"', [1, 1, 1.0], [0, 1, 0.0]]
    entry = showcase()[0].entry
    assert entry is not None
    assert "reason" not in json.dumps(entry.to_json())


# --- in a real browser ---


@pytest.fixture
def browser(tmp_path: Path) -> Browser:
    return Browser(tmp_path / "profile")


@needs_chromium
def test_the_page_shows_the_counts_and_every_case_after_its_script_ran(
    tmp_path: Path, browser: Browser
) -> None:
    dom = browser.dom(write(tmp_path / "r.html").as_uri())
    page = Tags(dom)
    assert page.rows()[:6] == [f"support::{case}" for case in MOVED_FIRST]
    assert sorted(page.rows()) == sorted({f"{r.prompt}::{r.case}" for r in showcase()})
    assert chips(dom) == {
        "regressed": "3",
        "improved": "0",
        "changed": "4",
        "same": "2",
        "new": "1",
    }
    text = "".join(page.text)
    assert "FAIL" in text and "3 cases failed their checks" in text and "1 item errored" in text
    assert "support.prompt.yaml::big: openai: HTTP 401 after 1 try" in text
    assert "5/8 (62%), -3/+0" in text  # support on openai:a, in the prompt x model table


@needs_chromium
def test_a_hostile_output_stays_visible_text(tmp_path: Path, browser: Browser) -> None:
    url = write(tmp_path / "r.html").as_uri() + "#open=support::hostile"
    page = Tags(browser.dom(url))
    assert page.named("img") == []
    assert not [attrs for _, attrs in page.tags if attrs.get("id") == "owned"]
    shown = "".join(page.text)
    assert "</script><img src=x onerror=alert(1)>" in shown
    assert "<h1 id=owned>owned</h1>" in shown


@needs_chromium
def test_the_filters_come_from_the_url_hash(tmp_path: Path, browser: Browser) -> None:
    uri = write(tmp_path / "r.html").as_uri()
    regressed = Tags(browser.dom(uri + "#effect=regressed")).rows()
    assert regressed == ["support::polite", "support::refund", "support::sampled"]
    assert Tags(browser.dom(uri + "#q=VIP")).rows() == ["support::json-ticket"]
    assert Tags(browser.dom(uri + "#prompt=faq")).rows() == ["faq::steady"]
    assert Tags(browser.dom(uri + "#model=openai:b&effect=changed")).rows() == ["support::refund"]
    assert Tags(browser.dom(uri + "#cause=prompt%20changed")).rows() == ["support::json-ticket"]


@needs_chromium
def test_an_open_case_shows_its_diff_checks_judge_and_accept_command(
    tmp_path: Path, browser: Browser
) -> None:
    uri = write(tmp_path / "r.html").as_uri()
    page = Tags(browser.dom(uri + "#open=support::polite"))
    text = "".join(page.text)
    assert "Curt; it does not answer the refund question." in text
    assert "pytest 'support.prompt.yaml::polite' --promptcheck-model openai:a" in text
    assert "95% interval 0%\u201379%" in text
    deleted = [a for a in page.named("span") if a.get("class") == "del"]
    assert deleted, "the word-level diff marks what the baseline said"
    json_case = "".join(Tags(browser.dom(uri + "#open=support::json-ticket")).text)
    assert "$.priority" in json_case and "$.tags[1]" in json_case


class _Recorder(SimpleHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        super().do_GET()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """The report's folder on a loopback server that records every path asked of it."""
    seen: ClassVar[list[str]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: handler(*a, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


@needs_chromium
def test_no_request_leaves_the_page_even_when_outputs_name_urls(
    tmp_path: Path, browser: Browser, served: tuple[str, list[str]]
) -> None:
    base, seen = served
    bait = (
        f'<img src="{base}/img"><link rel=stylesheet href="{base}/css">'
        f'<script src="{base}/js"></script><style>@import "{base}/import";</style>x'
    )
    write(tmp_path / "r.html", [*showcase(), single("bait", "plain", bait)])
    urls = browser.requested_urls(f"{base}/r.html#open=support::bait", tmp_path / "net.json")
    assert seen == ["/r.html"]
    baits = ("/img", "/css", "/js", "/import")
    assert not [u for u in urls if u.startswith(tuple(base + b for b in baits))]
    # the control: the same bait as markup is fetched, so the server would have seen a leak
    (tmp_path / "control.html").write_text(f"<!DOCTYPE html><body>{bait}</body>")
    browser.run(f"{base}/control.html", "--dump-dom")
    assert {"/img", "/css", "/js", "/import"} <= set(seen)


@needs_chromium
def test_a_screenshot_shows_the_page(tmp_path: Path, browser: Browser) -> None:
    shot = browser.screenshot(write(tmp_path / "r.html").as_uri(), tmp_path / "r.png")
    colours = set(pixels(shot))
    assert len(colours) > 50, "text and coloured cells, not a blank page"
    assert bytes((0xFC, 0xE8, 0xE6)) in colours  # the regressed cells' background


@needs_chromium
def test_clicks_write_the_hash_and_the_back_button_undoes_them(tmp_path: Path) -> None:
    rows = "[...document.querySelectorAll('.row')].map(row => row.dataset.case)"
    with PageSession(write(tmp_path / "r.html").as_uri(), tmp_path / "profile") as page:
        page.wait_for("document.documentElement.dataset.rendered")
        page.evaluate("document.querySelector('.chip[data-value=regressed]').click()")
        assert page.evaluate("location.hash") == "#effect=regressed"
        assert page.evaluate(rows) == ["support::polite", "support::refund", "support::sampled"]
        page.evaluate("document.querySelector('[data-case=\"support::refund\"]').click()")
        assert page.evaluate("location.hash") == "#effect=regressed&open=support%3A%3Arefund"
        assert page.evaluate("document.querySelectorAll('.detail .model').length") == 2
        page.evaluate("history.back()")
        page.wait_for("location.hash === '#effect=regressed'")
        assert page.evaluate("document.querySelectorAll('.detail').length") == 0
        page.evaluate("history.back()")
        page.wait_for("location.hash === ''")
        assert len(page.evaluate(rows)) == len({(r.prompt, r.case) for r in showcase()})
        prompt = "document.querySelector('select[aria-label=prompt]')"
        page.evaluate(f"{prompt}.value = 'faq'; {prompt}.dispatchEvent(new Event('change'))")
        assert page.evaluate(rows) == ["faq::steady"]
        # reloaded after the evaluation returns: a reload inside it can destroy the context
        # the answer is sent from (a CDP error on a busy machine)
        page.evaluate("document.body.dataset.old = '1'; setTimeout(() => location.reload(), 0)")
        page.wait_for(
            "!document.body.dataset.old && document.readyState === 'complete'"
            " && !!document.querySelector('.row')"
        )
        assert page.evaluate("location.hash") == "#prompt=faq"
        assert page.evaluate(rows) == ["faq::steady"]
        assert page.evaluate(f"{prompt}.value") == "faq"


@needs_chromium
def test_a_large_run_draws_its_first_rows_and_more_on_demand(tmp_path: Path) -> None:
    uri = write(tmp_path / "r.html", many(1000), []).as_uri()
    rows = "document.querySelectorAll('.row').length"
    with PageSession(uri, tmp_path / "profile") as page:
        page.wait_for("document.documentElement.dataset.rendered")
        assert page.evaluate(rows) == 300
        assert page.evaluate("document.querySelector('.more button').textContent") == (
            "Show 300 more of 700"
        )
        page.evaluate("document.querySelector('.more button').click()")
        assert page.evaluate(rows) == 600
        page.evaluate("location.hash = 'q=case-00999'")
        page.wait_for(f"{rows} === 1")
        assert page.evaluate("document.querySelector('.row').dataset.case") == "p5::case-00999"


def _nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@needs_chromium
def test_an_output_nested_thousands_of_levels_deep_opens_and_the_other_rows_stay(
    tmp_path: Path,
) -> None:
    records = [*showcase(), single("deep", "[2]", _nested(10_000))]
    records.append(single("deeper", _nested(120), _nested(100_000)))
    uri = write(tmp_path / "r.html", records).as_uri()
    rows = "document.querySelectorAll('.row').length"
    cases = len({(r.prompt, r.case) for r in records})
    with PageSession(uri + "#open=support%3A%3Adeeper", tmp_path / "profile") as page:
        page.wait_for("document.documentElement.dataset.rendered")
        assert page.evaluate(rows) == cases
        assert page.evaluate("!!document.querySelector('[data-detail=\"support::deeper\"]')")
        page.evaluate("document.querySelector('[data-case=\"support::deep\"]').click()")
        assert page.evaluate(rows) == cases
        detail = page.evaluate(
            "document.querySelector('[data-detail=\"support::deep\"]').textContent"
        )
        # past 100 levels the rest of the value is one leaf: its path stops there
        assert "$" + "[0]" * 100 in detail and "$" + "[0]" * 101 not in detail


@needs_chromium
def test_a_case_that_cannot_be_drawn_says_so_and_the_other_rows_stay(tmp_path: Path) -> None:
    uri = write(tmp_path / "r.html").as_uri()
    rows = "document.querySelectorAll('.row').length"
    with PageSession(uri, tmp_path / "profile") as page:
        page.wait_for("document.documentElement.dataset.rendered")
        drawn = page.evaluate(rows)
        # the word diff tokenises with String.match: breaking it breaks this case's detail only
        page.evaluate("String.prototype.match = () => { throw new Error('broken'); }")
        page.evaluate("document.querySelector('[data-case=\"support::polite\"]').click()")
        assert page.evaluate(rows) == drawn
        assert page.evaluate("document.querySelector('.detail.bad').textContent") == (
            "This case could not be drawn: Error: broken"
        )
