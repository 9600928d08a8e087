"""The request journal: every paid call is written down before it is sent, so a process that dies
between a submit and its result loses nothing (docs/client.md "When the process dies").

:class:`Journal` keeps the entries in one SQLite file (the standard library's ``sqlite3``, WAL mode):
several processes and threads share it safely, each write one ``BEGIN IMMEDIATE`` transaction.
:class:`JournalBackend` is the interface the clients use; a second backend (e.g. PostgreSQL for many
hosts) implements it and is passed as ``Client(journal=...)``.

An entry moves through these states (``Entry.state``)::

    (intent written) --answer--> pending --result--> completed | failed
          |                         '--404--> expired
          '--no answer (killed, timed out after sending)--> ambiguous

While the submit is on the wire the entry is ``pending`` without a request id; if its process is gone
(killed between sending and reading the answer) it reads as ``ambiguous``: fal offers no idempotency
key, so the request may or may not exist, and may have been billed. Nothing here ever resubmits.

No key is ever stored: the clients pass redacted texts, and every text is redacted again here with the
process-wide redaction (:mod:`kontext_contract._redact`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from .._redact import redact, redact_deep
from ._errors import (
    APIStatusError,
    JournalError,
    KontextError,
    NotCompletedError,
    NotFoundError,
    RateLimitError,
    ServiceUnavailableError,
)

__all__ = [
    "ENV_VAR",
    "RETENTION_SECONDS",
    "SCHEMA_VERSION",
    "STATES",
    "Entry",
    "Intent",
    "Journal",
    "JournalBackend",
    "canonical_digest",
    "default_journal_path",
    "outcome_of",
]

#: the version of the tables below (``PRAGMA user_version``); a file of another version is refused
SCHEMA_VERSION = 1
#: ``PRAGMA application_id`` of a journal file ("KJRN"): an SQLite file of another program is refused
APPLICATION_ID = 0x4B4A524E
#: the environment variable naming the journal ``generate`` and ``requests`` use by default
ENV_VAR = "KONTEXT_JOURNAL"
#: seconds fal keeps a request's payloads (input and output JSON, the request history): 30 days by
#: default (docs/sources.md §3.9). A pending entry older than this is not reused; resuming it is tried
#: once and a 404 ends it as ``expired``.
RETENTION_SECONDS = 30 * 24 * 3600.0
#: seconds after which a submit still on the wire from another host is read as ambiguous (its process
#: cannot be checked from here)
FOREIGN_OWNER_GRACE = 15 * 60.0

State = Literal["pending", "completed", "failed", "ambiguous", "expired"]
#: the states an entry reads as (``Entry.state``, ``requests list --json``)
STATES: tuple[State, ...] = ("pending", "completed", "failed", "ambiguous", "expired")
#: states that are an outcome: nothing more will be recorded
FINAL: frozenset[str] = frozenset({"completed", "failed", "ambiguous", "expired"})
#: the stored state of an intent whose answer has not come (read as pending or ambiguous)
SENDING = "sending"

AMBIGUOUS_EXPLANATION = (
    "the process died (or the connection broke) after the paid request was sent and before its answer "
    "was read, so its request id is unknown; fal offers no idempotency key, so the request may or may "
    "not exist and may have been billed. It is never resubmitted: check the provider's request history "
    "(fal: the dashboard's Recent History), then `requests forget` it"
)


def default_journal_path() -> Path:
    """Where ``generate`` and ``requests`` keep their journal: ``$KONTEXT_JOURNAL`` if set, else
    ``$XDG_STATE_HOME/kontext-contract/journal.sqlite3``, else
    ``~/.local/state/kontext-contract/journal.sqlite3`` (the XDG Base Directory default for state)."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return Path(explicit).expanduser()
    state = os.environ.get("XDG_STATE_HOME")
    base = (
        Path(state).expanduser() if state and Path(state).is_absolute() else Path.home() / ".local" / "state"
    )
    return base / "kontext-contract" / "journal.sqlite3"


def canonical_digest(data: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of a validated input: keys sorted, no spaces, UTF-8. Two
    inputs with the same digest ask for the same job (the basis of ``reuse=True``)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def outcome_of(error: BaseException) -> str | None:
    """The state a result (or status) error ends an entry in: ``expired`` for 404 (the provider no longer
    knows the request), ``failed`` for an answer that is the request's outcome (a 4xx such as 422, a
    failed or timed-out request), None when it may still be fetched later (not completed yet, 5xx, 429,
    no answer)."""
    if isinstance(error, NotFoundError):
        return "expired"
    if isinstance(error, NotCompletedError | RateLimitError | ServiceUnavailableError):
        return None
    if isinstance(error, APIStatusError) and error.status_code is not None:
        if 400 <= error.status_code < 500 and error.status_code != 408:
            return "failed"  # 401/403/422/... and a request that completed with an error
        if error.error_type:  # a 5xx that is the request's own outcome (request_timeout, ...)
            return "failed"
    return None


def error_record(error: BaseException, *, sent: bool = True) -> dict[str, Any]:
    """What the journal keeps of an error: class, message, HTTP status, error type and detail (redacted)."""
    record: dict[str, Any] = {"type": type(error).__name__, "message": redact(str(error)), "sent": sent}
    if isinstance(error, KontextError):
        record["status_code"] = error.status_code
        record["detail"] = redact_deep(error.detail)
        error_type = getattr(error, "error_type", None)
        if error_type:
            record["error_type"] = redact(str(error_type))
    return record


# ---- who owns an intent ------------------------------------------------------------------------------


def _start_token(pid: int) -> str | None:
    """A token of the process ``pid``'s start (Linux: field 22 of ``/proc/PID/stat``), so that a reused
    pid is not taken for the process that wrote an intent; None where /proc is not there."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = data.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


_HOST = socket.gethostname()
_OWN: tuple[int, str | None] | None = None


def _own_process() -> tuple[int, str | None]:
    global _OWN
    pid = os.getpid()
    if _OWN is None or _OWN[0] != pid:  # recomputed after a fork
        _OWN = (pid, _start_token(pid))
    return _OWN


def owner_alive(host: str, pid: int, token: str | None, created_at: float, now: float) -> bool:
    """Whether the process that wrote an intent may still be waiting for its answer."""
    if host != _HOST:
        return now - created_at < FOREIGN_OWNER_GRACE
    if token is not None and Path("/proc").is_dir():
        return _start_token(pid) == token
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---- entries -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intent:
    """What is written before a paid call is sent.

    Attributes:
        id: the new entry's id (32 hex digits, made by the client: known even if the write is
            interrupted).
        kind: ``"queue"`` (a submit) or ``"run"`` (the synchronous API).
        endpoint_id: e.g. ``fal-ai/flux-pro/kontext``.
        input_digest: :func:`canonical_digest` of the validated input.
        provider: the provider's name (``fal``, ``relay-a``, ...).
        base_url: the provider's queue base URL (``run``: its run base URL).
    """

    kind: Literal["queue", "run"]
    endpoint_id: str
    input_digest: str
    provider: str
    base_url: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


def _iso(value: float | None) -> str | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Entry:
    """One journal entry (times are Unix seconds).

    Attributes:
        id: the entry's id (32 hex digits; ``requests show`` takes it, a prefix of it, or the request id).
        state: one of :data:`STATES`.
        sending: the submit is on the wire in a live process (state ``pending``, no request id yet).
        queue_status: the last queue status seen (``IN_QUEUE``, ``IN_PROGRESS``, ``COMPLETED``).
        request_id, status_url, response_url, cancel_url: the handle the provider answered.
        result: the output JSON (``completed``). error: what failed (``failed``, ``expired``,
            ``ambiguous``): ``type``, ``message``, ``status_code``, ``error_type``, ``detail``.
        files: paths of the images saved from the result.
    """

    id: str
    kind: str
    endpoint_id: str
    input_digest: str
    provider: str
    base_url: str
    state: State
    sending: bool
    queue_status: str | None
    request_id: str | None
    status_url: str | None
    response_url: str | None
    cancel_url: str | None
    result: Any
    error: dict[str, Any] | None
    files: tuple[str, ...]
    created_at: float
    answered_at: float | None
    updated_at: float
    finished_at: float | None
    host: str
    pid: int

    @property
    def explanation(self) -> str:
        """One sentence on what the state means for this entry."""
        if self.state == "ambiguous":
            if self.error and self.error.get("message"):
                return f"{AMBIGUOUS_EXPLANATION} (last error: {self.error['message']})"
            return AMBIGUOUS_EXPLANATION
        if self.state == "expired":
            return (
                f"{self.provider} no longer knows request {self.request_id} (404): fal keeps request payloads "
                "30 days by default (docs/sources.md §3.9); it cannot be fetched any more"
            )
        if self.state == "failed":
            message = (self.error or {}).get("message", "failed")
            return str(message)
        if self.state == "completed":
            return "the result is recorded" + (f"; saved: {', '.join(self.files)}" if self.files else "")
        if self.sending:
            return f"the submit is being sent by process {self.pid} on {self.host}"
        return "submitted, the outcome is not recorded yet: `requests resume` fetches it"

    def to_json(self) -> dict[str, Any]:
        """The entry as ``requests list --json`` prints it (times as ISO 8601 UTC)."""
        return {
            "id": self.id,
            "request_id": self.request_id,
            "endpoint_id": self.endpoint_id,
            "provider": self.provider,
            "base_url": self.base_url,
            "kind": self.kind,
            "state": self.state,
            "queue_status": self.queue_status,
            "input_digest": self.input_digest,
            "created_at": _iso(self.created_at),
            "answered_at": _iso(self.answered_at),
            "updated_at": _iso(self.updated_at),
            "finished_at": _iso(self.finished_at),
            "files": list(self.files),
            "error": self.error,
            "explanation": self.explanation,
        }


@runtime_checkable
class JournalBackend(Protocol):
    """What a journal does for the clients (docs/client.md "When the process dies": a second backend).

    Every method is blocking (the async client calls them in a worker thread) and safe to call from
    several threads. A write that cannot be made raises :class:`JournalError`; :meth:`record_intent`
    raising it means the paid request is not sent. Entry ids are made by the client (:attr:`Intent.id`,
    uuid4 hex), unique across processes.
    """

    location: str

    def record_intent(self, intent: Intent) -> str:
        """Write the intent of a paid call (before it is sent) as the entry ``intent.id``; returns it."""
        ...

    def record_submitted(
        self, entry_id: str, request_id: str, status_url: str, response_url: str, cancel_url: str
    ) -> None:
        """The provider answered the submit: the handle; the entry becomes ``pending``."""
        ...

    def record_status(self, entry_id: str, queue_status: str) -> None:
        """A new queue status (``IN_QUEUE``, ``IN_PROGRESS``, ``COMPLETED``)."""
        ...

    def record_outcome(
        self,
        entry_id: str,
        state: str,
        *,
        result: Any = None,
        error: dict[str, Any] | None = None,
        request_id: str | None = None,
        queue_status: str | None = None,
    ) -> None:
        """The outcome: ``completed`` with the result JSON, ``failed``/``expired``/``ambiguous`` with an
        error; ``queue_status`` the last queue status, when the outcome came with one (``COMPLETED``)."""
        ...

    def record_files(self, entry_id: str, paths: Sequence[str]) -> None:
        """Files saved from the entry's result."""
        ...

    def get(self, key: str) -> Entry:
        """The entry whose id, id prefix (6+ characters) or request id is ``key`` (KeyError: none or several)."""
        ...

    def entries(self, states: Sequence[str] | None = None) -> list[Entry]:
        """All entries (oldest first), or those in ``states``."""
        ...

    def find_reusable(
        self, endpoint_id: str, input_digest: str, provider: str, base_url: str
    ) -> Entry | None:
        """A queue entry for the same job that is completed, or pending with a request id and younger
        than :data:`RETENTION_SECONDS` (completed first, newest first)."""
        ...

    def forget(self, entry_id: str) -> None:
        """Delete an entry (KeyError: none)."""
        ...

    def close(self) -> None: ...


# ---- SQLite ---------------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE requests (
    id            TEXT PRIMARY KEY,      -- entry id, uuid4 hex
    kind          TEXT NOT NULL,         -- queue | run
    endpoint_id   TEXT NOT NULL,
    input_digest  TEXT NOT NULL,         -- sha256 of the canonical input JSON
    provider      TEXT NOT NULL,
    base_url      TEXT NOT NULL,
    state         TEXT NOT NULL,         -- sending | pending | completed | failed | ambiguous | expired
    queue_status  TEXT,                  -- IN_QUEUE | IN_PROGRESS | COMPLETED
    request_id    TEXT,
    status_url    TEXT,
    response_url  TEXT,
    cancel_url    TEXT,
    result        TEXT,                  -- output JSON
    error         TEXT,                  -- error JSON
    host          TEXT NOT NULL,         -- who wrote the intent
    pid           INTEGER NOT NULL,
    pid_token     TEXT,
    created_at    REAL NOT NULL,         -- Unix seconds
    answered_at   REAL,
    updated_at    REAL NOT NULL,
    finished_at   REAL
);
CREATE INDEX requests_job ON requests (endpoint_id, input_digest, provider, base_url);
CREATE INDEX requests_request_id ON requests (request_id);
CREATE INDEX requests_state ON requests (state);
CREATE TABLE events (
    entry   TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    at      REAL NOT NULL,
    state   TEXT NOT NULL,               -- sending, pending, a queue status, or an outcome
    detail  TEXT
);
CREATE INDEX events_entry ON events (entry);
CREATE TABLE files (
    entry   TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    path    TEXT NOT NULL,
    at      REAL NOT NULL
);
CREATE INDEX files_entry ON files (entry);
"""

_COLUMNS = (
    "id, kind, endpoint_id, input_digest, provider, base_url, state, queue_status, request_id, status_url, "
    "response_url, cancel_url, result, error, host, pid, pid_token, created_at, answered_at, updated_at, "
    "finished_at"
)

T = TypeVar("T")


class Journal:
    """The journal in one SQLite file (WAL mode), shared by every process and thread that opens it.

    Args:
        path: the file (its folder is created). ``~`` is expanded.
        timeout: seconds a write waits for another process's transaction before :class:`JournalError`
            ("locked").
        synchronous: SQLite's ``synchronous`` setting. ``"NORMAL"`` (default) survives any death of the
            process (kill, OOM); a crash of the OS or a power cut may lose the last transactions.
            ``"FULL"`` survives those too, at an fsync per write.
        read_only: open for reading only (``requests list``/``show`` on a journal one may not write).

    Raises:
        JournalError: the file cannot be opened or made, is not a journal (corrupt, another program's
            SQLite file), or is of another schema version; the message names the file and what to do.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 10.0,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        read_only: bool = False,
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', got {synchronous!r}")
        self.path = Path(path).expanduser()
        self.location = str(self.path)
        self.timeout = timeout
        self.read_only = read_only
        self._lock = threading.Lock()
        if not read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise JournalError(
                    self.location,
                    "io",
                    f"its folder cannot be created ({exc.strerror or type(exc).__name__}); pass another "
                    "--journal PATH (or journal=) or create the folder",
                ) from None
        elif not self.path.exists():
            raise JournalError(self.location, "missing", "there is no journal there; check the path")
        try:
            uri = f"{self.path.absolute().as_uri()}?mode={'ro' if read_only else 'rwc'}"
            self._conn = sqlite3.connect(
                uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise self._error(exc, "open") from None
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._prepare(synchronous)
        except JournalError:
            self._conn.close()
            raise
        except sqlite3.Error as exc:
            self._conn.close()
            raise self._error(exc, "open") from None

    def __repr__(self) -> str:
        return f"Journal({self.location!r})"

    # -- opening -----------------------------------------------------------------------------------------

    def _prepare(self, synchronous: str) -> None:
        conn = self._conn
        app, version = self._ids()
        if app == 0 and version == 0 and not self.read_only:
            with self._transaction():  # another process may be creating it at the same moment
                app, version = self._ids()
                if app == 0 and version == 0:
                    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                    if tables:
                        raise self._not_a_journal()
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    app, version = APPLICATION_ID, SCHEMA_VERSION
        if app != APPLICATION_ID:
            raise self._not_a_journal()
        if version != SCHEMA_VERSION:
            raise JournalError(
                self.location,
                "schema",
                f"it was written by another version of kontext-contract (journal schema {version}; this "
                f"version reads schema {SCHEMA_VERSION}): open it with that version, or pass another "
                "--journal PATH (or journal=)",
            )
        if not self.read_only:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise JournalError(
                    self.location, "io", f"SQLite cannot use WAL mode there (got {mode!r}); use a local disk"
                )
        conn.execute(f"PRAGMA synchronous = {synchronous}")

    def _ids(self) -> tuple[int, int]:
        """The file's application id and schema version, read in one read transaction: two autocommit
        reads could see another process's creation of the journal between them (the version set, the id
        not yet), which once read as "a database of something else" under the crash loop."""
        conn = self._conn
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN")
        try:
            app = int(conn.execute("PRAGMA application_id").fetchone()[0])
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            if own:
                conn.execute("COMMIT")
        return app, version

    def _not_a_journal(self) -> JournalError:
        return JournalError(
            self.location,
            "corrupt",
            "it is an SQLite database of something else, not a journal: pass another --journal PATH (or "
            "journal=)",
        )

    # -- errors ------------------------------------------------------------------------------------------

    def _error(self, exc: sqlite3.Error, action: str) -> JournalError:
        name = getattr(exc, "sqlite_errorname", "") or ""
        text = str(exc)
        if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or "not a database" in text:
            return JournalError(
                self.location,
                "corrupt",
                f"it is not a readable journal ({text}): move it aside (mv {self.location} "
                f"{self.location}.bad) and run again, or pass another --journal PATH (or journal=)",
            )
        if name.startswith("SQLITE_READONLY") or "readonly" in text:
            return JournalError(
                self.location,
                "readonly",
                f"it cannot be written ({text}): make the file and its folder writable, or pass another "
                "--journal PATH (or journal=)",
            )
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
            return JournalError(
                self.location,
                "locked",
                f"another process has held it locked for more than {self.timeout:g} s ({text}): wait for it "
                "to finish, or raise the journal's timeout",
            )
        if name.startswith("SQLITE_FULL") or "full" in text:
            return JournalError(
                self.location,
                "full",
                f"the disk (or the journal's size limit) is full ({text}): free some space, or pass a "
                "journal on another disk with --journal PATH (or journal=)",
            )
        return JournalError(
            self.location,
            "io",
            f"cannot {action} it ({type(exc).__name__}: {text}): check the file and its folder, or pass "
            "another --journal PATH (or journal=)",
        )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _write(self, action: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            try:
                with self._transaction() as conn:
                    return fn(conn)
            except sqlite3.Error as exc:
                raise self._error(exc, action) from None

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            try:
                return fn(self._conn)
            except sqlite3.Error as exc:
                raise self._error(exc, "read") from None
            except (ValueError, TypeError) as exc:  # a row edited by hand: not JSON, not the columns' types
                raise JournalError(
                    self.location,
                    "corrupt",
                    f"an entry cannot be read ({type(exc).__name__}: {exc}): `kontext-contract requests forget ID` "
                    "it, or move the file aside",
                ) from None

    # -- writes ------------------------------------------------------------------------------------------

    def record_intent(self, intent: Intent) -> str:
        entry_id = intent.id
        pid, token = _own_process()
        now = time.time()
        row = (
            entry_id,
            intent.kind,
            intent.endpoint_id,
            intent.input_digest,
            redact(intent.provider),
            redact(intent.base_url),
            SENDING,
            _HOST,
            pid,
            token,
            now,
            now,
        )

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO requests (id, kind, endpoint_id, input_digest, provider, base_url, state, host, "
                "pid, pid_token, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            conn.execute("INSERT INTO events VALUES (?, ?, ?, NULL)", (entry_id, now, SENDING))

        self._write("write the intent to", write)
        return entry_id

    def record_submitted(
        self, entry_id: str, request_id: str, status_url: str, response_url: str, cancel_url: str
    ) -> None:
        now = time.time()

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE requests SET state = 'pending', queue_status = 'IN_QUEUE', request_id = ?, "
                "status_url = ?, response_url = ?, cancel_url = ?, answered_at = ?, updated_at = ? "
                "WHERE id = ? AND state IN ('sending', 'ambiguous')",
                (
                    redact(request_id),
                    redact(status_url),
                    redact(response_url),
                    redact(cancel_url),
                    now,
                    now,
                    entry_id,
                ),
            )
            conn.execute("INSERT INTO events VALUES (?, ?, 'pending', NULL)", (entry_id, now))

        self._write("record the handle in", write)

    def record_status(self, entry_id: str, queue_status: str) -> None:
        now = time.time()

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE requests SET queue_status = ?, updated_at = ? WHERE id = ?",
                (queue_status, now, entry_id),
            )
            conn.execute("INSERT INTO events VALUES (?, ?, ?, NULL)", (entry_id, now, queue_status))

        self._write("record a status in", write)

    def record_outcome(
        self,
        entry_id: str,
        state: str,
        *,
        result: Any = None,
        error: dict[str, Any] | None = None,
        request_id: str | None = None,
        queue_status: str | None = None,
    ) -> None:
        if state not in FINAL:
            raise ValueError(f"not an outcome: {state!r}")
        now = time.time()
        result_text = None if result is None else json.dumps(redact_deep(result), separators=(",", ":"))
        error_text = None if error is None else json.dumps(redact_deep(error), separators=(",", ":"))

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE requests SET state = ?, result = coalesce(?, result), error = ?, "
                "request_id = coalesce(request_id, ?), queue_status = coalesce(?, queue_status), "
                "finished_at = ?, updated_at = ? WHERE id = ? AND state != 'completed'",
                (
                    state,
                    result_text,
                    error_text,
                    None if request_id is None else redact(request_id),
                    queue_status,
                    now,
                    now,
                    entry_id,
                ),
            )
            if queue_status is not None:
                conn.execute("INSERT INTO events VALUES (?, ?, ?, NULL)", (entry_id, now, queue_status))
            detail = None if error is None else redact(str(error.get("message", "")))[:500]
            conn.execute("INSERT INTO events VALUES (?, ?, ?, ?)", (entry_id, now, state, detail))

        self._write("record the outcome in", write)

    def record_files(self, entry_id: str, paths: Sequence[str]) -> None:
        now = time.time()

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO files VALUES (?, ?, ?)", [(entry_id, redact(str(p)), now) for p in paths]
            )
            conn.execute("UPDATE requests SET updated_at = ? WHERE id = ?", (now, entry_id))

        self._write("record saved files in", write)

    def forget(self, entry_id: str) -> None:
        def write(conn: sqlite3.Connection) -> int:
            return conn.execute("DELETE FROM requests WHERE id = ?", (entry_id,)).rowcount

        if not self._write("delete an entry from", write):
            raise KeyError(entry_id)

    # -- reads -------------------------------------------------------------------------------------------

    def _entries(self, where: str, args: Sequence[Any]) -> list[Entry]:
        def read(conn: sqlite3.Connection) -> list[Entry]:
            conn.execute("BEGIN")  # one snapshot for the rows and their files
            try:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM requests {where} ORDER BY created_at, id", args
                ).fetchall()
                files: dict[str, list[str]] = {}
                if rows:
                    for entry, path in conn.execute(
                        "SELECT entry, path FROM files WHERE entry IN "
                        f"(SELECT id FROM requests {where}) ORDER BY rowid",
                        args,
                    ):
                        files.setdefault(entry, []).append(path)
            finally:
                conn.execute("COMMIT")
            now = time.time()
            return [_entry(row, tuple(files.get(row[0], ())), now) for row in rows]

        return self._read(read)

    def get(self, key: str) -> Entry:
        key = key.strip()
        found = self._entries("WHERE id = ? OR request_id = ?", (key, key))
        if not found and len(key) >= 6 and all(c in "0123456789abcdef" for c in key):
            found = self._entries("WHERE id LIKE ?", (key + "%",))
        if len(found) != 1:
            raise KeyError(
                f"no entry {key!r} in {self.location}"
                if not found
                else f"{key!r} matches {len(found)} entries in {self.location}; give more of the id"
            )
        return found[0]

    def entries(self, states: Sequence[str] | None = None) -> list[Entry]:
        every = self._entries("", ())
        if states is None:
            return every
        wanted = set(states)
        return [entry for entry in every if entry.state in wanted]

    def find_reusable(
        self, endpoint_id: str, input_digest: str, provider: str, base_url: str
    ) -> Entry | None:
        candidates = self._entries(
            "WHERE endpoint_id = ? AND input_digest = ? AND provider = ? AND base_url = ? AND kind = 'queue' "
            "AND state IN ('completed', 'pending')",
            (endpoint_id, input_digest, provider, base_url),
        )
        now = time.time()
        usable = [
            e
            for e in candidates
            if e.state == "completed" or (e.request_id is not None and now - e.created_at < RETENTION_SECONDS)
        ]
        usable.sort(key=lambda e: (e.state == "completed", e.created_at), reverse=True)
        return usable[0] if usable else None

    def events(self, entry_id: str) -> list[tuple[float, str, str | None]]:
        """The state changes of one entry: (Unix seconds, state, detail), oldest first."""
        return self._read(
            lambda conn: [
                (float(at), str(state), detail)
                for at, state, detail in conn.execute(
                    "SELECT at, state, detail FROM events WHERE entry = ? ORDER BY rowid", (entry_id,)
                )
            ]
        )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _entry(row: Sequence[Any], files: tuple[str, ...], now: float) -> Entry:
    (
        entry_id,
        kind,
        endpoint_id,
        digest,
        provider,
        base_url,
        stored,
        queue_status,
        request_id,
        status_url,
        response_url,
        cancel_url,
        result,
        error,
        host,
        pid,
        token,
        created_at,
        answered_at,
        updated_at,
        finished_at,
    ) = row
    sending = stored == SENDING
    state: State
    if sending:
        state = "pending" if owner_alive(host, pid, token, created_at, now) else "ambiguous"
        sending = state == "pending"
    else:
        state = stored
    return Entry(
        id=entry_id,
        kind=kind,
        endpoint_id=endpoint_id,
        input_digest=digest,
        provider=provider,
        base_url=base_url,
        state=state,
        sending=sending,
        queue_status=queue_status,
        request_id=request_id,
        status_url=status_url,
        response_url=response_url,
        cancel_url=cancel_url,
        result=None if result is None else json.loads(result),
        error=None if error is None else json.loads(error),
        files=files,
        created_at=created_at,
        answered_at=answered_at,
        updated_at=updated_at,
        finished_at=finished_at,
        host=host,
        pid=pid,
    )


def open_journal(
    journal: str | os.PathLike[str] | JournalBackend | None,
) -> tuple[JournalBackend | None, bool]:
    """``(backend, owned)`` for a client's ``journal=`` argument: a path opens a :class:`Journal` (owned:
    closed with the client); a backend is used as given.

    Raises:
        JournalError: the file cannot be used (see :class:`Journal`).
        TypeError: neither a path nor a :class:`JournalBackend`.
    """
    if journal is None:
        return None, False
    if isinstance(journal, str | os.PathLike):
        return Journal(journal), True
    if isinstance(journal, JournalBackend):
        return journal, False
    raise TypeError(f"journal= takes a path or a JournalBackend, not {type(journal).__name__}")
