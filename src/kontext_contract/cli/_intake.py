"""``kontext-contract sources fetch`` and ``sources update``: intake from fal's publications
(docs/pipeline.md "Intake from fal's publications", "fal changed a field")."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..drift._fetch import DEFAULT_FAL_OPENAPI_URL, FAL_OPENAPI_URL_ENV
from ..pipeline import SpecError
from ._options import check_url, root_option, seconds_option
from ._project import project_layout

__all__ = ["sources_fetch", "sources_update"]


def _openapi_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    check_url(param.opts[0], value)
    return value


_base_url_option = click.option(
    "--fal-openapi-url",
    "fal_openapi_url",
    envvar=FAL_OPENAPI_URL_ENV,
    default=DEFAULT_FAL_OPENAPI_URL,
    show_default=True,
    metavar="URL",
    callback=_openapi_url,
    help=f"fal's per-endpoint OpenAPI URL, without its ?endpoint_id= query (env {FAL_OPENAPI_URL_ENV}).",
)
_timeout_option = seconds_option(
    "--http-timeout",
    dest="http_timeout",
    default=30.0,
    help="Seconds to wait for a connection and for each read.",
)


def _endpoint_ids(root: Path) -> list[str]:
    """The contract's endpoint ids, from the contract model of the project at ``root``."""
    from ..contract import ContractModel
    from ..pipeline import load_yaml

    layout_contract = root / "openapi" / "kontext.openapi.yaml"
    model = ContractModel.from_document(load_yaml(layout_contract), source=str(layout_contract))
    return list(model.endpoints)


@click.command("fetch")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@_base_url_option
@_timeout_option
@root_option
def sources_fetch(folder: Path, fal_openapi_url: str, http_timeout: float, root: Path | None) -> None:
    """Download fal's per-endpoint OpenAPI of every endpoint id of the contract, and every source whose
    manifest entry names a url, into FOLDER (for `sources check --from FOLDER`).

    Every answer is checked first (200, JSON, OpenAPI 3 describing the endpoint, at most 4 MiB, complete,
    no redirect to another host, in time); FOLDER is written only when all are good.

    Exit status: 0 every document written; 2 usage error or a bad answer (the message names the URL and
    what was wrong; nothing is written).
    """
    from ..drift._fetch import fetch_sources
    from ..pipeline import load_manifest

    layout = project_layout(root)
    try:
        ids = _endpoint_ids(layout.root)
        click.echo(
            f"fetching {len(ids)} per-endpoint OpenAPI document(s) from {fal_openapi_url} ...", err=True
        )
        fetched = fetch_sources(
            load_manifest(layout.manifest), ids, folder, base_url=fal_openapi_url, timeout=http_timeout
        )
    except SpecError as exc:
        click.echo(f"error: {exc.render()}", err=True)
        sys.exit(2)
    for item in fetched:
        click.echo(f"  wrote {folder / item.name} ({item.size} bytes) from {item.url}")
    click.echo(
        f"fetched {len(fetched)} document(s) into {folder}; next: kontext-contract sources check --from {folder}"
    )


@click.command("update")
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Keep the downloads in this folder (default: a temporary one).",
)
@click.option(
    "--yes",
    is_flag=True,
    help="A person reviewed the applied sources: acknowledge the merge disagreements and go on.",
)
@click.option(
    "--summary-md",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the Markdown summary (for a pull request) to this file.",
)
@_base_url_option
@_timeout_option
@root_option
def sources_update(
    folder: Path | None,
    yes: bool,
    summary_md: Path | None,
    fal_openapi_url: str,
    http_timeout: float,
    root: Path | None,
) -> None:
    """The whole loop: fetch -> check -> apply -> acknowledge (with --yes) -> spec -> client -> diff. Prints a
    Markdown summary fit to paste into a pull request.

    Without --yes it stops before acknowledging new or changed disagreements (the sources are applied:
    review `git diff openapi/sources`, then run again with --yes). A source fact that reaches neither the
    contract nor an x-drops record, or an overlay that no longer matches, stops it even with --yes: that
    needs an overlay edit.

    Exit status: 0 the contract, reports and client are rebuilt (or nothing changed); 1 stopped for review;
    2 usage error, a bad download or a bad input (nothing written by the failing step).
    """
    from ..drift._update import update_sources
    from ..pipeline import write_atomic

    layout = project_layout(root)
    try:
        result = update_sources(
            layout,
            _endpoint_ids(layout.root),
            folder=folder,
            base_url=fal_openapi_url,
            timeout=http_timeout,
            yes=yes,
        )
    except SpecError as exc:
        click.echo(f"error: {exc.render()}", err=True)
        sys.exit(2)
    text = result.markdown()
    click.echo(text)
    if summary_md is not None:
        write_atomic(summary_md, text)
    if result.status != "done":
        sys.exit(1)
