"""Any relay is first-class: an undocumented relay's reports carry its name and base URL, never "fal";
``relays.yaml`` is read with errors naming the file and the JSONPath; the matrix is built from recordings."""

from __future__ import annotations

from pathlib import Path

import pytest

from kontext_contract.checks import Options, render_junit, render_markdown, render_matrix, run_checks
from kontext_contract.checks._html import render_matrix_html
from kontext_contract.checks._matrix import embedded_mock, matrix_from_recordings
from kontext_contract.checks._targets import RelaySpec, RelaysProblem, load_relays, relay_target
from kontext_contract.client._providers import Secret

from .test_record_replay import record


def test_an_undocumented_relay_is_named_everywhere() -> None:
    key = "acme-relay-key-0123456789"
    with embedded_mock("relay-a", key) as server:
        spec = RelaySpec("acme", server.base_url, "Bearer", "ACME_KEY")
        target = relay_target(spec, Secret(key))
        report = run_checks(target, Options(endpoints=("fal-ai/flux-pro/kontext",), poll_interval=0.001))
    assert report.complete, report.error
    assert report.provider == "acme" and report.document == "openapi/providers/fal.openapi.yaml"
    markdown = render_markdown(report)
    assert markdown.startswith("# Provider checks: acme\n") and server.base_url in markdown
    junit = render_junit(report)
    assert 'name="kontext-contract check acme"' in junit and 'classname="acme.' in junit
    assert "check fal" not in junit and "checks: fal" not in markdown
    # held to fal's document: the relay-a emulation's foreign queue URLs fail it
    assert {r.name for r in report.failures} >= {"queue_urls_own_host"}


def test_relays_yaml(tmp_path: Path) -> None:
    path = tmp_path / "relays.yaml"
    path.write_text(
        "relays:\n"
        "  - {name: acme, base_url: 'https://api.acme.example/fal/', auth: bearer, key_env: ACME_KEY}\n"
        "  - {name: other, base_url: 'http://127.0.0.1:9', auth: KEY, key_env: OTHER_KEY,"
        " endpoints: [fal-ai/flux-pro/kontext/max]}\n",
        encoding="utf-8",
    )
    acme, other = load_relays(path)
    assert acme == RelaySpec("acme", "https://api.acme.example/fal", "Bearer", "ACME_KEY")
    assert other.scheme == "Key" and other.endpoints == ("fal-ai/flux-pro/kontext/max",)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("relays: {}\n", "$.relays: expected a list"),
        ("relays:\n  - {name: a, base_url: 'ftp://x', auth: bearer, key_env: K}\n", "$.relays[0].base_url"),
        ("relays:\n  - {name: a, base_url: 'https://x', auth: basic, key_env: K}\n", "$.relays[0].auth"),
        ("relays:\n  - {name: a, base_url: 'https://x', auth: key}\n", "$.relays[0].key_env"),
        (
            "relays:\n  - {name: a, base_url: 'https://x', auth: key, key_env: K}\n"
            "  - {name: a, base_url: 'https://y', auth: key, key_env: K}\n",
            "$.relays[1].name",
        ),
        ("relays: [\n", "not YAML"),
    ],
)
def test_a_bad_relays_yaml_names_the_place(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "relays.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RelaysProblem) as raised:
        load_relays(path)
    assert str(path) in str(raised.value) and where in str(raised.value)


def test_the_matrix_from_recordings(tmp_path: Path) -> None:
    live = {p: record(p, tmp_path / f"{p}.har") for p in ("fal", "chainhub")}
    rows = matrix_from_recordings([tmp_path / "fal.har", tmp_path / "chainhub.har"])
    assert [row.report.provider for row in rows] == ["fal", "chainhub"]
    for row in rows:
        before = live[row.report.provider]
        assert [(r.name, r.status) for r in row.report.results] == [
            (r.name, r.status) for r in before.results
        ]
    page = render_matrix(rows, origin="Replayed from recordings made for the test.")
    assert (
        "Replayed from recordings made for the test." in page
        and "| *verdict* | **compatible** | **1 FAIL** |" in page
    )
    html = render_matrix_html(rows, origin="Replayed from recordings made for the test.")
    assert 'data-provider="chainhub" data-verdict="1 FAIL"' in html
