"""The request journal in one process, for both clients: what it records, resume, reuse, ambiguous and
expired entries, the bad journals (each: a clear error naming the file, and nothing paid sent), the key
never stored, a second backend plugged in through the interface."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from kontext_contract.client import (
    AmbiguousSubmitError,
    Endpoint,
    Entry,
    Intent,
    Journal,
    JournalBackend,
    JournalError,
    KontextOutput,
    NotFoundError,
    Provider,
    RequestFailedError,
    ValidationError,
    default_journal_path,
)
from kontext_contract.client._journal import SCHEMA_VERSION

from .conftest import BASE, FAST_RETRY, Clients, Recorder, asgi, do, mock_app, stats

T2I = Endpoint.KONTEXT_TEXT_TO_IMAGE
FOX = {"prompt": "a red fox"}
TIMED = {"deterministic": True, "queue_delay": 0.25, "processing_delay": 0.25}


def journal_states(path: Path) -> dict[str, str]:
    with Journal(path, read_only=True) as journal:
        return {e.id: e.state for e in journal.entries()}


# ---- what is recorded -------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_subscribe_records_intent_handle_statuses_outcome_and_files(
    clients: Clients, tmp_path: Path
) -> None:
    app = mock_app(**TIMED)
    path = tmp_path / "journal.sqlite3"
    async with clients.on_mock(app, journal=path) as client:
        out = await do(client.subscribe(T2I, FOX))
        saved = await do(client.save_image(out.images[0], tmp_path / "fox"))
        [entry] = client.journal.entries()
        events = [state for _, state, _ in client.journal.events(entry.id)]
    assert entry.state == "completed" and entry.kind == "queue"
    assert entry.endpoint_id == T2I.value and entry.provider == "mock-fal" and entry.base_url == BASE
    assert entry.request_id and entry.status_url.endswith(f"/requests/{entry.request_id}/status")
    assert entry.result == out.to_dict()
    assert entry.files == (str(saved.absolute()),)
    assert events[:2] == ["sending", "pending"] and events[-1] == "completed"
    assert "IN_PROGRESS" in events and "COMPLETED" in events
    assert entry.created_at <= entry.answered_at <= entry.finished_at  # type: ignore[operator]
    as_json = entry.to_json()
    assert {"request_id", "endpoint_id", "provider", "state", "created_at", "finished_at", "files"} <= set(
        as_json
    )
    assert as_json["created_at"].endswith("Z")


@pytest.mark.asyncio
async def test_run_is_journaled(clients: Clients, tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    async with clients.on_mock(mock_app(), journal=path) as client:
        out = await do(client.run(T2I, FOX))
        [entry] = client.journal.entries()
    assert entry.kind == "run" and entry.state == "completed" and entry.result == out.to_dict()
    assert entry.request_id  # the mock's x-fal-request-id


@pytest.mark.asyncio
async def test_a_failed_result_is_the_outcome(clients: Clients, tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    app = mock_app()
    async with clients.on_mock(app, journal=path, validate=False) as client:
        with pytest.raises(ValidationError):
            await do(client.subscribe(T2I, {"prompt": "x", "num_images": 99}))  # 422 from the result
        [entry] = client.journal.entries()
        with pytest.raises(RequestFailedError, match="failed"):  # the recorded outcome, no request
            await do(client.resume(entry))
    assert entry.state == "failed"
    assert entry.error is not None and entry.error["status_code"] == 422 and entry.error["detail"]
    assert (await stats(app))["submits_total"] == 1


# ---- resume -----------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_pending_and_resume_after_the_process_left(clients: Clients, tmp_path: Path) -> None:
    app = mock_app(**TIMED)
    path = tmp_path / "journal.sqlite3"
    async with clients.on_mock(app, journal=path) as client:
        handle = await do(client.submit(T2I, FOX))  # ... and the process dies before the result
    async with clients.on_mock(app, journal=path) as client:
        [pending] = await do(client.pending())
        assert pending.request_id == handle.request_id and pending.state == "pending"
        out = await do(client.resume(pending.id[:8]))
        assert isinstance(out, KontextOutput)
        assert await do(client.pending()) == []
        again = await do(client.resume(pending.id))  # completed: the recorded result, no request
    assert again.to_dict() == out.to_dict()
    assert (await stats(app))["submits_total"] == 1
    assert journal_states(path) == {pending.id: "completed"}


@pytest.mark.asyncio
async def test_resume_of_an_expired_request_ends_it_once(clients: Clients, tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    async with clients.on_mock(mock_app(), journal=path) as client:
        await do(client.submit(T2I, FOX))
    other = mock_app()  # a provider that no longer knows the request: 404
    recorder = Recorder(asgi(other))
    async with clients.on_mock(other, journal=path, transport=recorder) as client:
        [entry] = await do(client.pending())
        with pytest.raises(NotFoundError):
            await do(client.resume(entry))
        after = client.journal.get(entry.id)
        assert after.state == "expired" and "30 days" in after.explanation
        with pytest.raises(NotFoundError):  # now from the journal, no request
            await do(client.resume(entry.id))
    gets = [s for s in recorder.sent if s.method == "GET"]
    assert 1 <= len(gets) <= 2, gets  # the status stream answers 404, then one status poll: no loop
    assert (await stats(other))["submits_total"] == 0


@pytest.mark.asyncio
async def test_ambiguous_submit_is_never_resent(clients: Clients, tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    posts: list[str] = []

    def lost_answer(request: httpx.Request) -> httpx.Response:
        posts.append(request.method)
        raise httpx.ReadTimeout("the answer never came", request=request)

    async with clients.over(lost_answer, journal=path, retry=FAST_RETRY) as client:
        with pytest.raises(AmbiguousSubmitError):
            await do(client.subscribe(T2I, FOX))
        [entry] = client.journal.entries()
        assert entry.state == "ambiguous" and entry.request_id is None
        assert "idempotency key" in entry.explanation and "billed" in entry.explanation
        with pytest.raises(AmbiguousSubmitError, match="idempotency key"):
            await do(client.resume(entry))
        assert await do(client.pending()) == []
    assert posts == ["POST"]


@pytest.mark.asyncio
async def test_resume_refuses_another_provider(clients: Clients, tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    async with clients.on_mock(mock_app(), journal=path) as client:
        await do(client.submit(T2I, FOX))
    async with clients.on_mock(
        mock_app(), journal=path, provider=Provider.mock("http://elsewhere.test")
    ) as c:
        assert await do(c.pending()) == []
        [entry] = await do(c.pending(every_provider=True))
        with pytest.raises(ValueError, match="resume it with a client for that provider"):
            await do(c.resume(entry))


# ---- reuse ------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_reuse_returns_the_completed_or_pending_request(clients: Clients, tmp_path: Path) -> None:
    app = mock_app(**TIMED)
    path = tmp_path / "journal.sqlite3"
    async with clients.on_mock(app, journal=path) as client:
        first = await do(client.subscribe(T2I, {"prompt": "a fox", "seed": 3}))
        # the same job with its keys in another order: the same canonical input
        again = await do(client.subscribe(T2I, {"seed": 3, "prompt": "a fox"}, reuse=True))
        assert again.to_dict() == first.to_dict()
        assert (await stats(app))["submits_total"] == 1
        handle = await do(client.submit(T2I, {"prompt": "a cat"}))  # pending
        waited = await do(client.subscribe(T2I, {"prompt": "a cat"}, reuse=True))
        assert waited.to_dict() == (await do(handle.result())).to_dict()
        assert (await stats(app))["submits_total"] == 2
        await do(client.subscribe(T2I, {"prompt": "a fox", "seed": 4}, reuse=True))  # another job: paid
        assert (await stats(app))["submits_total"] == 3
        await do(client.subscribe(T2I, {"prompt": "a fox", "seed": 3}))  # reuse off: paid again
        assert (await stats(app))["submits_total"] == 4


@pytest.mark.asyncio
async def test_reuse_needs_a_journal(clients: Clients) -> None:
    app = mock_app()
    async with clients.on_mock(app) as client:
        with pytest.raises(ValueError, match="no journal"):
            await do(client.subscribe(T2I, FOX, reuse=True))
    assert (await stats(app))["submits_total"] == 0


# ---- bad journals: a clear error, and nothing paid sent ----------------------------------------------------


def _schema_99(path: Path) -> None:
    Journal(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")


def _another_program(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE songs (title TEXT)")


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not an SQLite database\n" * 200)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("make", "reason", "advice"),
    [
        (_garbage, "corrupt", "move it aside"),
        (_another_program, "corrupt", "something else"),
        (_schema_99, "schema", f"journal schema 99; this version reads schema {SCHEMA_VERSION}"),
    ],
    ids=["corrupt", "another-program", "schema-version"],
)
async def test_a_journal_that_cannot_be_opened(
    clients: Clients, tmp_path: Path, make: Any, reason: str, advice: str
) -> None:
    path = tmp_path / "journal.sqlite3"
    make(path)
    app = mock_app()
    with pytest.raises(JournalError) as caught:
        async with clients.on_mock(app, journal=path) as client:
            await do(client.subscribe(T2I, FOX))
    assert caught.value.reason == reason and caught.value.path == str(path)
    assert str(path) in str(caught.value) and advice in str(caught.value)
    assert (await stats(app))["submits_total"] == 0


class Unwritable:
    """A journal whose connection fails every write with an SQLite error (sqlite3.Connection cannot be
    patched itself); reads pass through."""

    def __init__(self, conn: sqlite3.Connection, code: int, name: str, text: str) -> None:
        self.conn, self.code, self.name, self.text = conn, code, name, text

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.startswith(("INSERT", "UPDATE", "DELETE")):
            error = sqlite3.OperationalError(self.text)
            error.sqlite_errorcode = self.code  # type: ignore[attr-defined]
            error.sqlite_errorname = self.name  # type: ignore[attr-defined]
            raise error
        return self.conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def _read_only(path: Path) -> Journal:
    Journal(path).close()
    path.chmod(0o444)  # as root this alone does not stop writes; the read-only open does
    return Journal(path, read_only=True)


def _locked(path: Path) -> Journal:
    Journal(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's write transaction that does not end
    journal = Journal(path, timeout=0.2)
    journal._holder = holder  # type: ignore[attr-defined]  # kept open for the test's duration
    return journal


def _mocked_full(path: Path) -> Journal:
    journal = Journal(path)
    journal._conn = Unwritable(journal._conn, 13, "SQLITE_FULL", "database or disk is full")  # type: ignore[assignment]
    return journal


def _mocked_corrupt(path: Path) -> Journal:
    journal = Journal(path)
    journal._conn = Unwritable(journal._conn, 11, "SQLITE_CORRUPT", "database disk image is malformed")  # type: ignore[assignment]
    return journal


@pytest.mark.asyncio
@pytest.mark.parametrize("call", ["subscribe", "submit", "run"])
@pytest.mark.parametrize(
    ("make", "reason", "advice"),
    [
        (_read_only, "readonly", "make the file and its folder writable"),
        (_locked, "locked", "for more than 0.2 s"),
        (_mocked_full, "full", "free some space"),
        (_mocked_corrupt, "corrupt", "move it aside"),
    ],
    ids=["read-only", "locked", "disk-full", "corrupt-on-write"],
)
async def test_a_journal_that_cannot_be_written_stops_the_paid_request(
    clients: Clients, tmp_path: Path, make: Any, reason: str, advice: str, call: str
) -> None:
    path = tmp_path / "journal.sqlite3"
    journal = make(path)
    app = mock_app()
    async with clients.on_mock(app, journal=journal) as client:
        with pytest.raises(JournalError) as caught:
            await do(getattr(client, call)(T2I, FOX))
    error = caught.value
    assert error.reason == reason and str(path) in str(error) and advice in str(error), str(error)
    assert "the paid request was not sent" in str(error)
    data = await stats(app)
    assert data["submits_total"] == 0 and data["runs_total"] == 0


@pytest.mark.asyncio
async def test_a_full_disk_for_real_stops_the_paid_request(clients: Clients, tmp_path: Path) -> None:
    """SQLite's own size limit (``PRAGMA max_page_count``) as the full disk: every request the mock
    accepted has its entry, and the submit whose intent did not fit was not sent. (A write after the send
    that does not fit -- the handle -- is logged with the request id, and the entry reads as ambiguous
    once the process is gone: the request is never lost from sight, nor resent.)"""
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path)
    pages = journal._conn.execute("PRAGMA page_count").fetchone()[0]
    journal._conn.execute(f"PRAGMA max_page_count = {pages + 1}")
    app = mock_app()
    refused = None
    async with clients.on_mock(app, journal=journal) as client:
        for n in range(200):
            try:
                await do(client.submit(T2I, {"prompt": f"fox {n} " + "x" * 200}))
            except JournalError as exc:
                refused = exc
                break
    assert refused is not None and refused.reason == "full", refused
    assert str(path) in str(refused) and "not sent" in str(refused)
    journal._conn.execute("PRAGMA max_page_count = 1000000")
    entries = journal.entries()
    accepted = (await stats(app))["submits_total"]
    assert accepted == n == len(entries)
    assert len([e for e in entries if e.request_id]) >= accepted - 1


# ---- the key is never stored ---------------------------------------------------------------------------


def _echoing(key_holder: list[str]) -> Any:
    """A provider that echoes the Authorization header everywhere: request id, statuses, logs, result."""

    def handler(request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        key_holder.append(auth)
        secret = auth.split(" ", 1)[-1]
        rid = f"req-{secret.split(':')[0]}"
        base = "https://queue.fal.run/fal-ai/flux-pro/requests/" + rid
        urls = {"status_url": base + "/status", "response_url": base, "cancel_url": base + "/cancel"}
        image = {
            "url": f"https://cdn.example/{secret}.jpg",
            "width": 1,
            "height": 1,
            "content_type": "image/jpeg",
        }
        result = {"images": [image], "seed": 1, "has_nsfw_concepts": [False], "prompt": auth, "timings": {}}
        log = {"message": auth, "level": "INFO", "source": "user", "timestamp": "2025-01-01T00:00:00Z"}
        path = request.url.path
        if request.url.host == "fal.run":  # the synchronous API answers with the output
            return httpx.Response(200, json={**result, "echo": auth}, headers={"x-fal-request-id": rid})
        if request.method == "POST":
            queued = {"status": "IN_QUEUE", "request_id": rid, "queue_position": 0, **urls, "echo": auth}
            return httpx.Response(200, json=queued, headers={"x-fal-request-id": rid})
        if path.endswith("/status/stream"):
            return httpx.Response(404, json={"detail": "Not Found"})
        if path.endswith("/status"):
            done = {
                "status": "COMPLETED",
                "request_id": rid,
                **urls,
                "metrics": {},
                "logs": [log],
                "error": None,
            }
            return httpx.Response(200, json=done)
        return httpx.Response(200, json={**result, "echo": auth})

    return handler


@pytest.mark.asyncio
async def test_the_key_is_never_in_the_journal(clients: Clients, tmp_path: Path, canary: str) -> None:
    key = f"{canary}-id:{canary}-secret"
    path = tmp_path / "journal.sqlite3"
    seen: list[str] = []
    provider = Provider.fal(key=key)
    async with clients.over(_echoing(seen), provider, journal=path, retry=FAST_RETRY) as client:
        out = await do(client.subscribe(T2I, {"prompt": f"a fox {key}"}, stream=False))
        assert canary not in json.dumps(out.to_dict())  # echoed by the provider, redacted in the model
        ran = await do(client.run(T2I, {"prompt": key}))
        assert ran.seed == 1
        entries = client.journal.entries()
    assert any(canary in s for s in seen)
    assert len(entries) == 2 and all(e.state == "completed" for e in entries)
    assert entries[0].request_id == "req-****"
    for file in tmp_path.iterdir():  # the database, its WAL and shared-memory files
        assert canary.encode() not in file.read_bytes(), file.name


# ---- the event loop, threads, a second backend ---------------------------------------------------------


class MemoryJournal:
    """A second backend: entries in a dict. Implements JournalBackend and nothing more; records which
    thread made each call."""

    location = "memory"

    def __init__(self) -> None:
        self.rows: dict[str, Entry] = {}
        self.threads: set[int] = set()
        self.lock = threading.Lock()

    def _touch(self) -> None:
        self.threads.add(threading.get_ident())

    def record_intent(self, intent: Intent) -> str:
        self._touch()
        with self.lock:
            entry_id = intent.id
            self.rows[entry_id] = Entry(
                entry_id, intent.kind, intent.endpoint_id, intent.input_digest, intent.provider, intent.base_url,
                "pending", True, None, None, None, None, None, None, None, (), 0.0, None, 0.0, None, "h", 0,
            )  # fmt: skip
        return entry_id

    def record_submitted(
        self, entry_id: str, request_id: str, status_url: str, response_url: str, cancel_url: str
    ) -> None:
        self._touch()
        self.rows[entry_id] = replace(self.rows[entry_id], sending=False, request_id=request_id, status_url=status_url,
                                      response_url=response_url, cancel_url=cancel_url)  # fmt: skip

    def record_status(self, entry_id: str, queue_status: str) -> None:
        self._touch()
        self.rows[entry_id] = replace(self.rows[entry_id], queue_status=queue_status)

    def record_outcome(self, entry_id: str, state: str, *, result: Any = None, error: Any = None,
                       request_id: str | None = None, queue_status: str | None = None) -> None:  # fmt: skip
        self._touch()
        self.rows[entry_id] = replace(self.rows[entry_id], state=state, result=result, error=error)  # type: ignore[arg-type]

    def record_files(self, entry_id: str, paths: Sequence[str]) -> None:
        self.rows[entry_id] = replace(self.rows[entry_id], files=(*self.rows[entry_id].files, *paths))

    def get(self, key: str) -> Entry:
        return next(e for e in self.rows.values() if key in (e.id, e.request_id))

    def entries(self, states: Sequence[str] | None = None) -> list[Entry]:
        return [e for e in self.rows.values() if states is None or e.state in states]

    def find_reusable(
        self, endpoint_id: str, input_digest: str, provider: str, base_url: str
    ) -> Entry | None:
        return next(
            (e for e in self.rows.values() if e.input_digest == input_digest and e.state == "completed"), None
        )

    def forget(self, entry_id: str) -> None:
        del self.rows[entry_id]

    def close(self) -> None:
        pass


@pytest.mark.asyncio
async def test_a_second_backend_plugs_in_and_async_never_writes_on_the_loop(clients: Clients) -> None:
    backend = MemoryJournal()
    assert isinstance(backend, JournalBackend)
    app = mock_app()
    async with clients.on_mock(app, journal=backend) as client:
        out = await do(client.subscribe(T2I, FOX))
        assert (await do(client.subscribe(T2I, FOX, reuse=True))).to_dict() == out.to_dict()
    [entry] = backend.rows.values()
    assert entry.state == "completed" and entry.result == out.to_dict()
    assert (await stats(app))["submits_total"] == 1
    loop_thread = threading.get_ident()
    if clients.is_async:
        assert loop_thread not in backend.threads  # every journal call ran in a worker thread
    else:
        assert backend.threads == {loop_thread}


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KONTEXT_JOURNAL", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_journal_path() == tmp_path / "state" / "kontext-contract" / "journal.sqlite3"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")  # the XDG spec: only absolute paths count
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert (
        default_journal_path()
        == tmp_path / "home" / ".local" / "state" / "kontext-contract" / "journal.sqlite3"
    )
    monkeypatch.setenv("KONTEXT_JOURNAL", str(tmp_path / "mine.sqlite3"))
    assert default_journal_path() == tmp_path / "mine.sqlite3"


def test_tests_never_use_the_real_home_journal() -> None:
    assert not str(default_journal_path()).startswith(str(Path("~").expanduser() / ".local"))


# ---- a journal edited by hand -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_edited_journal_cannot_send_the_key_elsewhere(clients: Clients, tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    app = mock_app()
    async with clients.on_mock(app, journal=path) as client:
        handle = await do(client.submit(T2I, FOX))
    with sqlite3.connect(path) as conn:  # someone points the recorded URLs at their own host
        conn.execute(
            "UPDATE requests SET status_url = replace(status_url, ?, ?), response_url = replace(response_url, ?, ?), "
            "cancel_url = replace(cancel_url, ?, ?)",
            [BASE, "https://evil.example"] * 3,
        )
    recorder = Recorder(asgi(app))
    async with clients.on_mock(app, journal=path, transport=recorder) as client:
        out = await do(client.resume(handle.request_id))
    assert out.images
    assert {httpx.URL(s.url).host for s in recorder.sent} == {"mock.test"}  # rebased onto the provider


def test_an_unreadable_entry_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        entry = journal.record_intent(Intent("queue", T2I.value, "0" * 64, "fal", "https://queue.fal.run"))
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE requests SET result = '{not json', state = 'completed'")
    with Journal(path) as journal, pytest.raises(JournalError) as caught:
        journal.entries()
    assert (
        caught.value.reason == "corrupt" and str(path) in str(caught.value) and "forget" in str(caught.value)
    )
    with Journal(path) as journal:
        journal.forget(entry)
        assert journal.entries() == []
