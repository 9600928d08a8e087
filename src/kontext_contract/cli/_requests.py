"""``kontext-contract requests list | show ID | resume [ID | --all] | forget ID``: the request journal
from the shell (docs/client.md "When the process dies").

Exit status: 0 success; 1 a request could not be finished (failed, expired, ambiguous, or the provider
did not answer); 2 usage error (a bad option, an unknown entry, a journal that cannot be used).
Everything printed passes through the key redaction (``kontext_contract._redact``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from .._redact import redact
from ..client._client import Client
from ..client._errors import AmbiguousSubmitError, ConfigurationError, JournalError, KontextError
from ..client._journal import STATES, Entry, Journal, default_journal_path
from ..client._providers import Provider
from ._options import DOCUMENT_PROVIDERS, key_env_option, root_option, wait_timeout_option

__all__ = ["command", "generate_journal", "generate_journal_options", "requests_group"]

F = TypeVar("F", bound=Callable[..., Any])


def _say(text: str, *, err: bool = False) -> None:
    click.echo(redact(text), err=err)


def _fail(message: str, status: int = 2) -> NoReturn:
    _say(f"error: {message}", err=True)
    sys.exit(status)


journal_option: Callable[[F], F] = click.option(
    "--journal",
    "journal_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="PATH",
    help="The request journal. Default: $KONTEXT_JOURNAL, else $XDG_STATE_HOME/kontext-contract/"
    "journal.sqlite3, else ~/.local/state/kontext-contract/journal.sqlite3.",
)


def generate_journal_options(command: F) -> F:
    """``generate``'s journal options: ``--journal PATH``, ``--no-journal``, ``--reuse``."""
    command = click.option(
        "--reuse",
        is_flag=True,
        help="If the journal holds the same job (endpoint, input, provider, base URL) completed, or pending "
        "and younger than fal's 30-day retention, take its result instead of paying again.",
    )(command)
    command = click.option(
        "--no-journal", is_flag=True, help="Do not record the request in a journal (it cannot be resumed)."
    )(command)
    return journal_option(command)


def generate_journal(path: Path | None, no_journal: bool, reuse: bool) -> Journal | None:
    """The journal ``generate`` records its request in (default: the per-user one), or None.

    Raises:
        click.UsageError: --reuse with --no-journal, or --journal with --no-journal.
        SystemExit: (2) the journal cannot be used; the message names the file and what to do.
    """
    if no_journal:
        if reuse or path is not None:
            raise click.UsageError(
                f"{'--reuse' if reuse else '--journal'} needs a journal: drop --no-journal"
            )
        return None
    return _open(path, read_only=False)


def _open(path: Path | None, *, read_only: bool) -> Journal | None:
    """The journal at ``path`` (default: the per-user one); None if it does not exist and only reading."""
    target = path or default_journal_path()
    if read_only and not target.exists():
        return None
    try:
        return Journal(target, read_only=read_only)
    except JournalError as exc:
        _fail(str(exc))


def _entry(journal: Journal, key: str) -> Entry:
    try:
        return journal.get(key)
    except KeyError as exc:
        _fail(str(exc.args[0]) + " (`kontext-contract requests list` shows the entries)")


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@click.group("requests")
def requests_group() -> None:
    """The request journal: every paid request, written down before it is sent.

    `generate` (and a client made with journal=) records each request's intent, handle, status changes,
    outcome and saved files, so a process killed between the submit and the result loses nothing:
    `requests resume` finishes what it left, with no new submit.

    Exit status: 0 success; 1 a request could not be finished; 2 usage error.
    """


@requests_group.command("list")
@journal_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of the entries.")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(STATES),
    help="Only entries in this state (repeatable).",
)
@root_option
def list_command(
    journal_path: Path | None, as_json: bool, states: tuple[str, ...], root: Path | None
) -> None:
    """List the journal's entries, oldest first; ambiguous ones apart, at the end.

    --json prints a JSON array, each entry with id, request_id, endpoint_id, provider, base_url, state
    (pending, completed, failed, ambiguous or expired), queue_status, its times (ISO 8601 UTC) and the
    files saved from it.

    Exit status: 0 listed (an absent journal lists nothing); 2 usage error (the journal cannot be read).
    """
    journal = _open(journal_path, read_only=True)
    try:
        entries = [] if journal is None else journal.entries(states or None)
    except JournalError as exc:
        _fail(str(exc))
    finally:
        if journal is not None:
            journal.close()
    if as_json:
        _say(json.dumps([e.to_json() for e in entries], indent=2))
        return
    location = journal_path or default_journal_path()
    if not entries:
        _say(f"no entries in {location}", err=True)
        return
    clear = [e for e in entries if e.state != "ambiguous"]
    unclear = [e for e in entries if e.state == "ambiguous"]
    if clear:
        _say(f"{'ID':12}  {'STATE':9}  {'CREATED':20}  {'ENDPOINT':38}  {'PROVIDER':9}  REQUEST ID  (FILES)")
        for e in clear:
            files = f"  ({len(e.files)} file{'s' if len(e.files) != 1 else ''})" if e.files else ""
            _say(
                f"{e.id[:12]:12}  {e.state:9}  {_when(e.created_at):20}  {e.endpoint_id:38}  {e.provider:9}  "
                f"{e.request_id or '(being submitted)'}{files}"
            )
    if unclear:
        _say(
            f"\nambiguous ({len(unclear)}): sent, but the answer was never read; each may or may not exist and "
            "may have been billed (fal has no idempotency key). Never resubmitted; check the provider's request "
            "history, then `requests forget ID`:"
        )
        for e in unclear:
            _say(f"{e.id[:12]:12}  {_when(e.created_at):20}  {e.endpoint_id:38}  {e.provider} ({e.base_url})")


@requests_group.command("show")
@click.argument("entry_id", metavar="ID")
@journal_option
@click.option("--json", "as_json", is_flag=True, help="Print the entry (with its events) as JSON.")
@root_option
def show_command(entry_id: str, journal_path: Path | None, as_json: bool, root: Path | None) -> None:
    """Show one entry: ID is its id, a prefix of it (6+ characters) or its request id.

    Exit status: 0 shown; 2 usage error (no such entry, or the journal cannot be read).
    """
    journal = _open(journal_path, read_only=True)
    if journal is None:
        _fail(f"no journal at {journal_path or default_journal_path()}")
    with journal:
        entry = _entry(journal, entry_id)
        events = journal.events(entry.id)
    data = entry.to_json()
    data["events"] = [{"at": _when(at), "state": state, "detail": detail} for at, state, detail in events]
    if entry.result is not None:
        data["result"] = entry.result
    if as_json:
        _say(json.dumps(data, indent=2))
        return
    for key in ("id", "state", "request_id", "endpoint_id", "provider", "base_url", "kind", "queue_status"):
        _say(f"{key:13} {data[key]}")
    for key in ("created_at", "answered_at", "finished_at"):
        _say(f"{key:13} {data[key] or '-'}")
    _say(f"{'what':13} {entry.explanation}")
    for path in entry.files:
        _say(f"{'file':13} {path}")
    if entry.error:
        _say(f"{'error':13} {entry.error.get('type')}: {entry.error.get('message')}")
    for event in data["events"]:
        _say(
            f"{'event':13} {event['at']}  {event['state']}"
            + (f"  {event['detail']}" if event["detail"] else "")
        )


def _provider_for(entry: Entry, key_env: str | None) -> Provider:
    """The provider an entry was sent to, as ``generate`` builds it (the key from the provider document's
    variable, or ``--key-env``)."""
    from ._generate import _provider

    name = entry.provider
    if name.startswith("mock-"):
        return Provider.mock(entry.base_url, profile=name.removeprefix("mock-"))
    if name in DOCUMENT_PROVIDERS or (name == "relay" and key_env):
        return _provider(name, entry.base_url, None, key_env)
    raise click.UsageError(
        f"entry {entry.id[:12]} was sent to provider {name!r} ({entry.base_url}), which has no provider "
        "document here: resume it from Python with Client(provider, journal=...).resume(entry)"
    )


def _save(client: Client, entry: Entry, output: Any, out_dir: Path, force: bool) -> list[Path]:
    """Save the images as ``generate`` does (``{request_id}-{n}.jpg``, never overwriting without --force).

    Raises:
        FileExistsError: without ``force``, a target exists (nothing of this entry is written)."""
    from ._generate import _check_out_dir, _file_stem, image_targets, save_images

    _check_out_dir(out_dir)
    stem = _file_stem(entry.request_id or entry.id)
    return save_images(client, output, image_targets(output, out_dir, stem), force=force)


@requests_group.command("resume")
@click.argument("entry_id", metavar="[ID]", required=False)
@click.option(
    "--all", "every", is_flag=True, help="Every pending entry (ambiguous ones are listed, never resent)."
)
@journal_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Save the images here as `generate` does ({request_id}-{n}.jpg). Default: record the result only.",
)
@click.option("--force", is_flag=True, help="With --out: overwrite files that have the names of the images.")
@key_env_option("for a relay without a provider document (--provider relay), required.")
@wait_timeout_option(
    dest="timeout", default=None, help="Seconds to wait for each request at most (it stays pending)."
)
@root_option
def resume_command(
    entry_id: str | None,
    every: bool,
    journal_path: Path | None,
    out_dir: Path | None,
    force: bool,
    key_env: str | None,
    timeout: float | None,
    root: Path | None,
) -> None:
    """Finish what a dead process left: wait for each pending request and fetch its result, with no new
    submit. A completed entry's recorded result is used as is (with --out: its images are saved).

    An ambiguous entry (sent, the answer never read) is never resubmitted: fal offers no idempotency key, so
    it may or may not exist and may have been billed. An expired or unknown request (404) ends its entry as
    expired, once.

    Exit status: 0 every entry asked for is completed (with --all: every pending one; ambiguous ones are
    listed, not counted); 1 one failed, expired, is ambiguous (resume ID) or could not be fetched now;
    2 usage error (a bad option, no such entry, a journal that cannot be used, an image file that exists
    in --out: not overwritten without --force).
    """
    if bool(entry_id) == every:
        raise click.UsageError("give an entry ID or --all (not both)")
    journal = _open(journal_path, read_only=False)
    assert journal is not None
    problems = 0
    refused = 0  # entries whose images would overwrite a file (a usage error: exit 2)
    clients: dict[tuple[str, str], Client] = {}
    try:
        if every:
            entries = journal.entries(["pending", "ambiguous"])
            for entry in (e for e in entries if e.state == "ambiguous"):
                _say(f"{entry.id[:12]} ambiguous, not resent: {entry.explanation}", err=True)
            todo = [e for e in entries if e.state == "pending" and not e.sending]
            if not todo:
                _say("nothing pending", err=True)
        else:
            todo = [_entry(journal, str(entry_id))]
        for entry in todo:
            try:
                key = (entry.provider, entry.base_url)
                if key not in clients:
                    clients[key] = Client(_provider_for(entry, key_env), journal=journal)
                client = clients[key]
                output = client.resume(entry, timeout=timeout)
                try:
                    saved = _save(client, entry, output, out_dir, force) if out_dir is not None else []
                except FileExistsError as exc:
                    from ._generate import exists_message

                    refused += 1
                    _say(
                        f"{entry.id[:12]} {entry.request_id} completed, "
                        + exists_message(exc, "the result stays in the journal"),
                        err=True,
                    )
                    continue
                _say(f"{entry.id[:12]} {entry.request_id} completed: {len(output.images)} image(s)", err=True)
                for path in saved:
                    _say(str(path))
            except AmbiguousSubmitError as exc:
                problems += 1
                _say(f"{entry.id[:12]} {exc}", err=True)
            except KontextError as exc:
                problems += 1
                try:
                    state = journal.get(entry.id).state
                except (KeyError, JournalError):
                    state = entry.state
                _say(f"{entry.id[:12]} {entry.request_id} {state}: {type(exc).__name__}: {exc}", err=True)
    except ConfigurationError as exc:
        _fail(str(exc))
    finally:
        for client in clients.values():
            client.close()
        journal.close()
    if refused:
        sys.exit(2)
    if problems:
        sys.exit(1)


@requests_group.command("forget")
@click.argument("entry_id", metavar="ID")
@journal_option
@root_option
def forget_command(entry_id: str, journal_path: Path | None, root: Path | None) -> None:
    """Delete one entry from the journal (e.g. an ambiguous one, once checked in the provider's history).

    Exit status: 0 deleted; 2 usage error (no such entry, or the journal cannot be written).
    """
    journal = _open(journal_path, read_only=False)
    assert journal is not None
    with journal:
        entry = _entry(journal, entry_id)
        try:
            journal.forget(entry.id)
        except JournalError as exc:
            _fail(str(exc))
    note = "; its request is no longer tracked" if entry.state == "pending" else ""
    _say(f"forgot {entry.id} ({entry.state}, {entry.request_id or 'no request id'}){note}", err=True)


command = requests_group
