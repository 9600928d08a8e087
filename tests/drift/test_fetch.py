"""`kontext-contract sources fetch DIR`: fal's per-endpoint OpenAPI of every endpoint id of the contract, from a
loopback server serving a document made for the test (tests/fixtures/made-for-test/); every bad answer is
named, exit 2, and nothing is written (drift/_fetch.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kontext_contract._layout import Layout
from kontext_contract.cli import main
from kontext_contract.contract import ContractModel
from kontext_contract.drift._fetch import FetchError, fal_openapi_name, fetch_sources
from kontext_contract.pipeline import load_manifest, load_yaml
from tests.drift._falserver import SLOW_SECONDS, fal_server


def _endpoint_ids(layout: Layout) -> list[str]:
    return list(ContractModel.from_document(load_yaml(layout.contract)).endpoints)


def test_every_endpoint_id_of_the_contract_is_fetched(layout: Layout, tmp_path: Path) -> None:
    ids = _endpoint_ids(layout)
    assert len(ids) == 6
    dest = tmp_path / "fetched"
    with fal_server() as (base, requests):
        fetched = fetch_sources(load_manifest(layout.manifest), ids, dest, base_url=f"{base}/ok/openapi.json")
    assert sorted(p.name for p in dest.iterdir()) == sorted(fal_openapi_name(e) for e in ids)
    assert {f.endpoint_id for f in fetched} == set(ids)
    for endpoint_id in ids:
        doc = json.loads((dest / fal_openapi_name(endpoint_id)).read_text(encoding="utf-8"))
        assert f"/{endpoint_id}" in doc["paths"]
    assert all("endpoint_id=fal-ai%2Fflux-pro%2Fkontext" in r for r in requests)
    assert not list(tmp_path.glob(".fetched.fetch-*"))


def test_a_redirect_on_the_same_host_is_followed(layout: Layout, tmp_path: Path) -> None:
    with fal_server() as (base, requests):
        fetch_sources(
            load_manifest(layout.manifest),
            ["fal-ai/flux-pro/kontext"],
            tmp_path / "f",
            base_url=f"{base}/same-host/openapi.json",
        )
    assert [r.split("/")[1] for r in requests] == ["same-host", "ok"]


BAD_ANSWERS = [
    ("html", "not JSON (an HTML page"),
    ("404", "answered 404"),
    ("500", "answered 500"),
    ("503", "answered 503"),
    ("big", "too large"),
    ("big-stream", "too large"),
    ("deep", "not JSON"),
    ("bigint", "not JSON"),
    ("not-openapi", "not an OpenAPI 3 document"),
    ("other-endpoint", "does not describe the endpoint asked for"),
    ("off-host", "redirected to another host"),
    ("slow", "timed out"),
    ("partial", "partial download"),
    ("one-bad", "partial download"),
]


@pytest.mark.parametrize(("mode", "named"), BAD_ANSWERS)
def test_a_bad_answer_is_named_and_nothing_is_written(
    layout: Layout, tmp_path: Path, mode: str, named: str
) -> None:
    dest = tmp_path / "fetched"
    started = time.monotonic()
    with fal_server() as (base, requests), pytest.raises(FetchError) as caught:
        fetch_sources(
            load_manifest(layout.manifest),
            _endpoint_ids(layout),
            dest,
            base_url=f"{base}/{mode}/openapi.json",
            timeout=0.5,
        )
    message = str(caught.value)
    assert named in message
    assert f"{base}/{mode}/openapi.json?endpoint_id=" in message  # the URL is named
    assert not dest.exists(), "a failed fetch left a folder behind"
    assert list(tmp_path.iterdir()) == [], "a failed fetch left a temporary folder behind"
    assert time.monotonic() - started < SLOW_SECONDS + 5  # bounded: a slow server is given up on
    if mode == "off-host":
        assert all("elsewhere" not in r for r in requests)


def test_a_failure_leaves_an_existing_folder_as_it_was(layout: Layout, tmp_path: Path) -> None:
    dest = tmp_path / "fetched"
    dest.mkdir()
    (dest / "fal-openapi.fal-ai--flux-pro--kontext.json").write_text("old\n", encoding="utf-8")
    with fal_server() as (base, _), pytest.raises(FetchError):
        fetch_sources(
            load_manifest(layout.manifest),
            _endpoint_ids(layout),
            dest,
            base_url=f"{base}/one-bad/openapi.json",
        )
    assert [p.name for p in dest.iterdir()] == ["fal-openapi.fal-ai--flux-pro--kontext.json"]
    assert (dest / "fal-openapi.fal-ai--flux-pro--kontext.json").read_text(encoding="utf-8") == "old\n"


def test_no_server_is_a_named_error(layout: Layout, tmp_path: Path) -> None:
    with fal_server() as (base, _):
        pass  # the port is closed again
    with pytest.raises(FetchError, match="no connection"):
        fetch_sources(
            load_manifest(layout.manifest),
            ["fal-ai/flux-pro/kontext"],
            tmp_path / "f",
            base_url=f"{base}/ok/openapi.json",
            timeout=2,
        )


def test_cli_fetch_writes_the_folder_and_names_a_bad_answer(project: Layout, tmp_path: Path) -> None:
    runner = CliRunner()
    with fal_server() as (base, _):
        ok = runner.invoke(
            main,
            ["sources", "fetch", str(tmp_path / "ok"), "--root", str(project.root)],
            env={"KONTEXT_FAL_OPENAPI_URL": f"{base}/ok/openapi.json"},
        )
        bad = runner.invoke(
            main,
            ["sources", "fetch", str(tmp_path / "bad"), "--root", str(project.root)],
            env={"KONTEXT_FAL_OPENAPI_URL": f"{base}/html/openapi.json"},
        )
    assert ok.exit_code == 0, ok.output
    assert len(list((tmp_path / "ok").iterdir())) == 6
    assert "sources check --from" in ok.output
    assert bad.exit_code == 2
    assert "not JSON (an HTML page" in bad.output and "Content-Type: text/html" in bad.output
    assert not (tmp_path / "bad").exists()
