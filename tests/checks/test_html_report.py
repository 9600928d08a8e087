"""The HTML report (``check --report-html``) and the matrix page: one self-contained file, escaped, the key
nowhere in it; and in a real browser (headless Chromium from Debian's packages, docs/checks.md "HTML
report"), the verdicts read from the rendered DOM and a screenshot taken."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kontext_contract._redact import Redactor
from kontext_contract.checks import ALL_CHECKS, MatrixRow, Report
from kontext_contract.checks._html import FAL_PRICES, render_html, render_matrix_html
from kontext_contract.checks._meanings import FAIL_MEANS
from kontext_contract.contract import ContractModel

from ._relays import CANARY, CanaryEcho
from .conftest import json_rewrite, run_against
from .test_record_replay import record


class _Checks(HTMLParser):
    """The ``data-check``/``data-status`` of every element that has them, the verdict, the image sources,
    and every URL the page would load."""

    def __init__(self) -> None:
        super().__init__()
        self.checks: list[tuple[str, str, str]] = []
        self.images: list[str] = []
        self.loads: list[str] = []
        self.verdict: str | None = None
        self._in_verdict = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "data-check" in a and "data-status" in a and tag == "article":
            self.checks.append((a["data-check"], a.get("data-endpoint", ""), a["data-status"]))
        if tag == "img":
            self.images.append(a.get("src", ""))
        for name in ("src", "href"):
            if name in a and tag in ("img", "script", "link", "iframe", "source", "video", "audio"):
                self.loads.append(a[name])
        if a.get("id") == "verdict":
            self._in_verdict = True

    def handle_data(self, data: str) -> None:
        if self._in_verdict:
            self.verdict = (self.verdict or "") + data

    def handle_endtag(self, tag: str) -> None:
        self._in_verdict = False


def parse(page: str) -> _Checks:
    parser = _Checks()
    parser.feed(page)
    return parser


def expected(report: Report) -> list[tuple[str, str, str]]:
    return [(r.name, r.endpoint or "", r.status) for r in report.results]


@pytest.fixture(scope="module")
def relay_a(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return record("relay-a", tmp_path_factory.mktemp("html") / "relay-a.har")


def test_every_check_has_a_plain_line_for_a_fail() -> None:
    assert set(FAIL_MEANS) == {c.name for c in ALL_CHECKS}
    assert "sends your relay key to" in FAIL_MEANS["queue_urls_own_host"]


def test_the_page_holds_every_verdict_and_loads_nothing(relay_a: Report) -> None:
    page = render_html(relay_a)
    found = parse(page)
    assert found.checks == expected(relay_a)
    assert found.verdict is not None and found.verdict.strip() == relay_a.verdict()
    # self-contained: every image a data: URI, nothing fetched, no script, no external stylesheet
    assert found.images and all(src.startswith("data:image/") for src in found.images)
    assert all(src.startswith("data:") for src in found.loads)
    assert "<script" not in page and not re.search(r"url\(\s*['\"]?https?:", page) and "@import" not in page
    assert "default-src 'none'" in page
    # what a FAIL means, the rule, and the evidence, for the failing check
    section = page.split('data-check="queue_urls_own_host"', 1)[1].split("</article>", 1)[0]
    assert FAIL_MEANS["queue_urls_own_host"] in section.replace("&#39;", "'")
    assert "contract expects" in section and "https://queue.fal.run" in section
    # the images beside what the contract implies: the asked ratio and format
    assert "21:9" in page and "aspect-ratio: 21 / 9" in page and "image/png" in page
    # the cost, with fal's price and where fal publishes it
    price = FAL_PRICES["fal-ai/flux-pro/kontext"]
    assert price.source in page and "nothing was paid" in page


def test_a_provider_cannot_inject_markup() -> None:
    hostile = "<script>alert(1)</script><img src=https://evil.example/x.png>"
    report = run_against(
        "fal",
        json_rewrite(lambda scope, status: status == 404, lambda body: {**body, "detail": hostile}),
    )
    page = render_html(report)
    assert "<script>alert" not in page and "evil.example/x.png>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_no_key_in_the_page_under_a_canary_echo(tmp_path: Path) -> None:
    report = record("relay-a", tmp_path / "echo.har", wrapper=CanaryEcho, key=CANARY)
    page = render_html(report, Redactor(CANARY).text)
    assert CANARY not in page and "****" in page


def test_an_undocumented_relay_is_named_on_its_page(tmp_path: Path) -> None:
    from dataclasses import replace

    report = replace(record("relay-a", tmp_path / "r.har"), provider="acme-relay")
    page = render_html(report)
    assert 'Provider checks: <span id="provider">acme-relay</span>' in page
    assert "acme-relay sets its own price" in page


def test_the_matrix_page(relay_a: Report) -> None:
    rows = [MatrixRow(ContractModel.load("relay-a").require(), relay_a)]
    page = render_matrix_html(rows, origin="made for the test")
    cells = re.findall(r'<td class="cell \w+" data-provider="relay-a" data-status="(\w+)"', page)
    assert cells == [r.status for r in relay_a.results]
    assert "<script" not in page


# -- in a real browser ---------------------------------------------------------------------------------


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _browser(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",  # CI containers run as root
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "LANG": "C.UTF-8"},
    )


def test_the_report_in_headless_chromium(relay_a: Report, tmp_path: Path) -> None:
    """Chromium loads the page from a file, with the network cut (the page needs none): the verdicts are
    read from the rendered DOM, and the screenshot shows the FAIL badges."""
    binary = _chromium()
    if binary is None:
        pytest.skip("no Chromium on PATH: apt-get install chromium (Debian's package; .ci/run installs it)")
    page = tmp_path / "report.html"
    page.write_text(render_html(relay_a), encoding="utf-8")
    offline = ("--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>")
    dumped = _browser(binary, tmp_path / "profile-dom", *offline, "--dump-dom", page.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = parse(dumped.stdout)
    assert dom.checks == expected(relay_a)
    assert dom.verdict is not None and dom.verdict.strip() == relay_a.verdict()
    shot = tmp_path / "report.png"
    taken = _browser(
        binary,
        tmp_path / "profile-shot",
        *offline,
        "--window-size=1280,2000",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        data = image.convert("RGB").tobytes()
        fail_red = sum(
            1 for i in range(0, len(data), 3) if data[i] > 190 and data[i + 1] < 70 and data[i + 2] < 80
        )
    assert fail_red > 500, "no FAIL badge or verdict in red on the screenshot"
    keep = os.environ.get("KONTEXT_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
