"""The option declarations every ``kontext-contract`` subcommand shares: one declaration per option, so
the same name means the same thing, with the same kind of value, everywhere (tests/cli/test_conventions.py
holds the convention over the whole command tree).

- ``--root DIR``: the project folder, on every subcommand (each reads the contract, the provider
  documents or the sources). Default: for the pipeline commands ``_layout.find_root``; the client, mock
  and checks read the contract shipped with the package (``_layout.shipped_root``).
- ``--base-url URL``, ``--run-base-url URL``: always the *provider's* base URLs (the mock's own public URL
  is ``--public-url``); checked when parsed (absolute http(s), no credentials, query or fragment).
- ``--key-env VAR``: the environment variable holding the key; default the provider document's
  ``x-provider.auth.key_env``.
- ``--provider NAME``: a provider document (``openapi/providers/NAME.openapi.yaml``).
- ``--wait-timeout SECONDS``: how long a request may take in all.
- ``--report-json PATH``, ``--report-md PATH``, ``--junit PATH``: report files.
- Exit statuses are listed in every ``--help`` (``cli._exit``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from ..contract import providers

__all__ = [
    "DOCUMENT_PROVIDERS",
    "base_url_option",
    "check_url",
    "junit_option",
    "key_env_option",
    "provider_option",
    "report_json_option",
    "report_md_option",
    "root_option",
    "run_base_url_option",
    "wait_timeout_option",
]

F = TypeVar("F", bound=Callable[..., Any])
_MARKERS = (Path("openapi") / "kontext.openapi.yaml", Path("openapi") / "sources" / "manifest.yaml")

#: The provider documents shipped with the package (openapi/providers/NAME.openapi.yaml), as the
#: --help texts name them; ``--provider`` itself accepts what the folder holds.
DOCUMENT_PROVIDERS = providers()  # the one list: the provider documents the build wrote


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
    from .._layout import use_contract_from

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


def report_md_option(what: str, default: Path | None = None, *, help: str | None = None) -> Callable[[F], F]:
    return click.option(
        "--report-md",
        type=click.Path(dir_okay=False, path_type=Path),
        default=default,
        show_default=default is not None,
        metavar="PATH",
        help=help or f"{'Write' if default else 'Also write'} {what} as Markdown here.",
    )


def report_html_option(what: str) -> Callable[[F], F]:
    """``--report-html PATH``: one self-contained HTML page (docs/checks.md "HTML report")."""
    return click.option(
        "--report-html",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        metavar="PATH",
        help=f"Also write {what} as one self-contained HTML page here.",
    )


def junit_option(what: str) -> Callable[[F], F]:
    return click.option(
        "--junit",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        metavar="PATH",
        help=f"Also write {what} as JUnit XML here.",
    )


def check_url(option: str, url: str) -> None:
    """Refuse ``url`` unless it is an absolute http(s) URL without credentials, query or fragment.

    Raises:
        click.BadParameter: naming ``option`` (e.g. ``--base-url``) and the value found.
    """
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


def _url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Check a URL option when it is parsed (:func:`check_url`), naming the option."""
    if value is not None:
        check_url(param.opts[0], value)
    return value


def _url_option(name: str, what: str, default_help: str) -> Callable[[F], F]:
    return click.option(
        name, default=None, metavar="URL", callback=_url, help=f"{what} Default: {default_help}"
    )


def base_url_option(default_help: str) -> Callable[[F], F]:
    """``--base-url URL``: the provider's queue base URL; ``default_help`` says what happens without it."""
    return _url_option("--base-url", "The provider's queue base URL.", default_help)


def run_base_url_option(default_help: str) -> Callable[[F], F]:
    """``--run-base-url URL``: the provider's synchronous API (``run``)."""
    return _url_option(
        "--run-base-url",
        "The provider's synchronous API (run) base URL (fal: https://fal.run).",
        default_help,
    )


def key_env_option(extra: str = "") -> Callable[[F], F]:
    """``--key-env VAR``: the variable holding the key; ``extra`` adds what this command does with it."""
    return click.option(
        "--key-env",
        default=None,
        metavar="VAR",
        help="Environment variable holding the key. Default: the provider document's x-provider.auth.key_env "
        "(FAL_KEY, RELAY_A_KEY, CHAINHUB_KEY, RELAY_B_KEY)" + (f"; {extra}" if extra else "."),
    )


def provider_option(
    *, choices: Sequence[str] | None = None, dest: str = "provider", extra: str = ""
) -> Callable[[F], F]:
    """``--provider NAME``: whose provider document to use (default ``fal``). ``choices``: the names this
    command accepts (``None``: any document name, checked by the command against the folder)."""
    return click.option(
        "--provider",
        dest,
        type=click.Choice(list(choices)) if choices else click.STRING,
        default="fal",
        show_default=True,
        metavar=None if choices else "NAME",
        help="Whose provider document to use (openapi/providers/NAME.openapi.yaml): "
        + ", ".join(DOCUMENT_PROVIDERS)
        + (f"; {extra}" if extra else "."),
    )


def _seconds(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A positive, finite number of seconds (or absent)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"expected a positive number of seconds, found {value}", param=param)
    return value


def seconds_option(
    name: str, *, dest: str | None = None, default: float | None, help: str
) -> Callable[[F], F]:
    """An option of a positive, finite number of seconds (``inf``, ``nan``, 0 and negatives refused)."""
    decls = [name] if dest is None else [name, dest]
    return click.option(
        *decls,
        type=click.FloatRange(0.0, min_open=True),
        callback=_seconds,
        default=default,
        show_default=default is not None,
        metavar="SECONDS",
        help=help,
    )


def wait_timeout_option(*, dest: str | None = None, default: float | None, help: str) -> Callable[[F], F]:
    """``--wait-timeout SECONDS``: how long a request (or the whole command) may take."""
    return seconds_option("--wait-timeout", dest=dest, default=default, help=help)
