"""Options every ``kontext-contract`` subcommand spells the same way (tests/test_cli_conventions.py
holds the convention for the whole command tree).

- ``--root DIR``: the project folder, on every subcommand (each reads the contract, the provider
  documents or the sources). Default: for the pipeline commands ``_layout.find_root``; the client, mock
  and checks read the contract shipped with the package (``_layout.shipped_root``).
- ``--base-url URL``: always the *provider's* base URL (the mock's own public URL is ``--public-url``).
- ``--report-json PATH``, ``--report-md PATH``, ``--junit PATH``: report files.
- Exit statuses are listed in every ``--help`` ("Exit status: ...").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = ["check_url", "report_json_option", "report_md_option", "root_option"]

F = TypeVar("F", bound=Callable[..., Any])
_MARKERS = (Path("openapi") / "kontext.openapi.yaml", Path("openapi") / "sources" / "manifest.yaml")


def _use_root(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """Validate ``--root`` and make it the project of everything this command reads: the pipeline commands
    get it as their ``root``; the client, the mock and the checks read its contract
    (``_layout.use_contract_from``), for this invocation only."""
    if value is None:
        return None
    root = value.resolve()
    if not any((root / marker).is_file() for marker in _MARKERS):
        raise click.BadParameter(
            f"{value} is not a project folder: expected {_MARKERS[0]} or {_MARKERS[1]} in it",
            ctx=ctx,
            param=param,
        )
    # the client, the mock and the checks read the contract of this project instead of the one shipped
    # with the package (kontext_contract._layout.shipped_root), for this invocation only
    from ._layout import use_contract_from

    use_contract_from(root)

    def restore() -> None:
        use_contract_from(None)

    ctx.call_on_close(restore)
    return root


root_option: Callable[[F], F] = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    callback=_use_root,
    metavar="DIR",
    help="Project folder (holding openapi/). Default: the pipeline commands use $KONTEXT_CONTRACT_ROOT, else "
    "the first folder at or above the current one holding openapi/sources/manifest.yaml; the others read "
    "the contract shipped with the package.",
)


def report_json_option(what: str) -> Callable[[F], F]:
    return click.option(
        "--report-json",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        metavar="PATH",
        help=f"Also write {what} as JSON here.",
    )


def report_md_option(what: str, default: Path | None = None) -> Callable[[F], F]:
    return click.option(
        "--report-md",
        type=click.Path(dir_okay=False, path_type=Path),
        default=default,
        show_default=default is not None,
        metavar="PATH",
        help=f"{'Write' if default else 'Also write'} {what} as Markdown here.",
    )


def check_url(option: str, url: str) -> None:
    """Refuse ``url`` unless it is an absolute http(s) URL without credentials, query or fragment.

    Raises:
        click.BadParameter: naming ``option`` (e.g. ``--base-url``) and the value found.
    """
    from urllib.parse import urlsplit

    bad = click.BadParameter(f"must be an absolute http:// or https:// URL, got {url!r}", param_hint=option)
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        raise bad from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad
    if parts.username is not None or parts.password is not None:
        raise click.BadParameter("must not carry credentials: pass the key with --key-env", param_hint=option)
    if parts.query or parts.fragment:
        raise click.BadParameter(f"must not have a query or fragment, got {url!r}", param_hint=option)
