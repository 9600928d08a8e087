"""The client against a provider whose answers are hostile, over a real loopback socket: as a class, every
answer the client reads (a submit's, a status, a result, an image download, an error body, the status
stream) gets each bad body of two families.

- **Too large** (``max_response_bytes``): a Content-Length over the bound, an endless body, a gzip bomb (a
  small body that decodes past the bound), and on the status stream an endless line and an endless event.
  Each ends with :class:`ResponseTooLargeError` after reading at most the bound, never retried: the bodies
  are endless, so a client that read them whole would never return.
- **Not JSON** on a success answer: HTML, bytes that are not UTF-8, JSON nested past Python's recursion
  limit, a number of more digits than ``int()`` converts. Each is a :class:`ProviderIncompatibleError`
  saying why, never a ``JSONDecodeError``, ``RecursionError`` or ``ValueError`` from the decoder.
"""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest

from kontext_contract.client import (
    AsyncClient,
    Client,
    ConfigurationError,
    Endpoint,
    Journal,
    Provider,
    ProviderIncompatibleError,
    ResponseTooLargeError,
    RetryPolicy,
)
from kontext_contract.client._bodies import PIECE, BodyDecoder, BodyDecodingError

from .conftest import threaded_server

T2I = Endpoint.KONTEXT_TEXT_TO_IMAGE
#: the client's bound in these tests, bytes
LIMIT = 256 * 1024
#: seconds a call against an endless answer may take (it reads LIMIT bytes over loopback)
BOUND_SECONDS = 10.0
RETRYING = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)
#: a gzip body of 1 KiB or so that decodes to 64 MiB of spaces
BOMB = gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9)
#: the bodies of the too-large family, by name: how the server sends them
TOO_LARGE = ("declared", "endless", "gzip-bomb")
#: the bodies of the not-JSON family, and the words the error must say
NOT_JSON = {
    "html": (b"<!doctype html><html><body>Sign in</body></html>", "not JSON"),
    "not-utf8": (b'{"status": "\xff\xfe"}', "not UTF-8"),
    "deep": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "bigint": (b'{"status": "IN_QUEUE", "request_id": "r", "queue_position": ' + b"9" * 5000 + b"}", "int"),
}


class _Hostile(BaseHTTPRequestHandler):
    """A provider at ``/{body}/{role}/...``: every answer of ``role`` (``submit``, ``status``, ``result``,
    ``image``, ``error``, ``stream``) is the bad ``body``; the other roles answer well, so that a call
    reaches the answer under test. Its own layout is its own (it is a provider, not the contract)."""

    protocol_version = "HTTP/1.1"
    counts: Counter[str]
    sent: Counter[str]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _well(self, role: str) -> bytes:
        host = f"http://{self.headers['host']}"
        prefix = "/".join(self.path.split("/")[:3])
        base = f"{host}{prefix}/fal-ai/flux-pro/requests/r"
        if role == "submit":
            body: Any = {
                "status": "IN_QUEUE",
                "request_id": "r",
                "status_url": base + "/status",
                "response_url": base,
                "cancel_url": base + "/cancel",
                "queue_position": 0,
            }
        elif role == "result":
            image = {"url": f"{host}{prefix}/img/r.png", "content_type": "image/png", "width": 8, "height": 8}
            body = {"images": [image], "seed": 1, "prompt": "p", "has_nsfw_concepts": [False], "timings": {}}
        else:
            body = {"status": "COMPLETED", "request_id": "r", "logs": [], "metrics": {}}
        return json.dumps(body).encode()

    def _role(self) -> str:
        path = self.path.split("?")[0]
        if self.command == "POST":
            return "submit"
        if "/img/" in path:
            return "image"
        if path.endswith("/status/stream"):
            return "stream"
        if path.endswith("/status"):
            return "status"
        return "result"

    def _answer(self) -> None:
        parts = self.path.split("/")
        kind, bad_role = parts[1], parts[2]
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        role = self._role()
        self.counts[role] += 1
        if role != bad_role and not (bad_role == "error" and role == "status"):
            data = self._well(role)
            media = "text/event-stream" if role == "stream" else "application/json"
            if role == "stream":
                data = b"data: " + data + b"\n\n"
            self._send(200, media, data)
            return
        code = 500 if bad_role == "error" else 200
        media = "text/event-stream" if role == "stream" else "application/json"
        if kind in NOT_JSON:
            data = NOT_JSON[kind][0]
            self._send(code, media, b"data: " + data + b"\n\n" if role == "stream" else data)
        elif kind == "declared":
            self.send_response(code)
            self.send_header("content-type", media)
            self.send_header("content-length", str(4 * 1024**3))
            self.end_headers()
            self._write(b"{" + b" " * 1024)  # then nothing: a client must not wait for 4 GiB
        elif kind == "gzip-bomb":
            self.send_response(code)
            self.send_header("content-type", media)
            self.send_header("content-encoding", "gzip")
            self.send_header("content-length", str(len(BOMB)))
            self.end_headers()
            self._write(BOMB)
        else:  # endless: a body (or a stream line, or a stream event) that never ends
            self.send_response(code)
            self.send_header("content-type", media)
            self.send_header("connection", "close")
            self.end_headers()
            chunk = {
                "endless": b" " * 65536,
                "endless-line": b"x" * 65536,
                "endless-event": b"data: " + b"x" * 1024 + b"\n",
            }[kind]
            if kind == "endless-line":
                self._write(b"data: ")
            elif kind == "endless":
                self._write(b'{"status": "')
            while self._write(chunk):
                pass
            self.close_connection = True

    def _write(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client closed the connection: what a bounded reader does
            self.close_connection = True
            return False
        self.sent[self.path.split("?")[0]] += len(data)
        return True

    def _send(self, code: int, media: str, data: bytes) -> None:
        self.send_response(code)
        self.send_header("content-type", media)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self._write(data)

    do_GET = do_POST = do_PUT = _answer


@contextmanager
def hostile_provider() -> Iterator[tuple[str, Counter[str], Counter[str]]]:
    """``(base URL, requests by role, bytes sent by path)`` of a :class:`_Hostile` in a thread."""
    counts: Counter[str] = Counter()
    sent: Counter[str] = Counter()
    with threaded_server(type("Hostile", (_Hostile,), {"counts": counts, "sent": sent})) as base:
        yield base, counts, sent


def _client(base: str, kind: str, role: str, **kwargs: Any) -> Client:
    provider = Provider.fal("hostile-key-id:hostile-key-secret", queue_base_url=f"{base}/{kind}/{role}")
    return Client(provider, retry=RETRYING, max_response_bytes=LIMIT, **kwargs)


#: each role the client reads, and the call that reaches its answer
CALLS: dict[str, Callable[[Client], object]] = {
    "submit": lambda c: c.submit(T2I, {"prompt": "p"}),
    "status": lambda c: c.status(T2I, "r"),
    "result": lambda c: c.result(T2I, "r"),
    "image": lambda c: c.download_image(c.result(T2I, "r").images[0]),
    "error": lambda c: c.status(T2I, "r"),
    "stream": lambda c: list(c.stream_status(T2I, "r")),
}


@pytest.mark.parametrize("kind", TOO_LARGE)
@pytest.mark.parametrize("role", sorted(CALLS))
def test_an_answer_over_the_bound_is_refused_after_reading_at_most_the_bound(kind: str, role: str) -> None:
    with hostile_provider() as (base, counts, _sent), _client(base, kind, role) as client:
        started = time.monotonic()
        with pytest.raises(ResponseTooLargeError) as raised:
            CALLS[role](client)
        took = time.monotonic() - started
    assert took < BOUND_SECONDS, f"{took:.1f} s"
    assert raised.value.limit == LIMIT and f"over {LIMIT} bytes" in str(raised.value)
    assert counts[role if role != "error" else "status"] == 1, f"retried: {dict(counts)}"


@pytest.mark.parametrize("kind", ["endless-line", "endless-event"])
def test_an_endless_status_stream_line_or_event_is_refused(kind: str) -> None:
    with hostile_provider() as (base, counts, _sent), _client(base, kind, "stream") as client:
        started = time.monotonic()
        with pytest.raises(ResponseTooLargeError, match="line" if kind == "endless-line" else "event"):
            list(client.stream_status(T2I, "r"))
    assert time.monotonic() - started < BOUND_SECONDS
    assert counts["stream"] == 1


@pytest.mark.parametrize("kind", ["endless", "gzip-bomb"])
def test_reading_a_body_over_the_bound_holds_about_the_bound_in_memory(kind: str) -> None:
    """An endless body, and a gzip body of 64 KiB decoding to 64 MiB (httpx alone decodes it in one
    piece: a peak of about 140 MiB), are read to the bound and no further."""
    with hostile_provider() as (base, _counts, sent), _client(base, kind, "result") as client:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError):
                client.result(T2I, "r")
            _now, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 4 * LIMIT + 2 * 1024 * 1024, f"peak {peak} bytes for a bound of {LIMIT}"
    # the server went on writing only until the client closed (plus what the socket buffers held)
    assert sum(sent.values()) < 64 * 1024 * 1024


@pytest.mark.parametrize("kind", sorted(NOT_JSON))
@pytest.mark.parametrize("role", ["submit", "status", "result", "stream"])
def test_a_success_answer_that_is_not_json_is_named(kind: str, role: str) -> None:
    words = NOT_JSON[kind][1]
    with (
        hostile_provider() as (base, _counts, _sent),
        _client(base, kind, role) as client,
        pytest.raises(ProviderIncompatibleError) as raised,
    ):
        CALLS[role](client)
    if role == "stream" and kind == "not-utf8":  # SSE is decoded with replacement (WHATWG)
        assert "status" in str(raised.value), str(raised.value)
    else:
        assert words in str(raised.value), str(raised.value)


@pytest.mark.parametrize("kind", sorted(NOT_JSON))
def test_an_error_answer_that_is_not_json_keeps_its_status(kind: str) -> None:
    with (
        hostile_provider() as (base, _counts, _sent),
        _client(base, kind, "error") as client,
        pytest.raises(Exception) as raised,
    ):
        client.status(T2I, "r")
    assert getattr(raised.value, "status_code", None) == 500, repr(raised.value)


def test_a_submit_whose_answer_is_over_the_bound_is_ambiguous_in_the_journal(tmp_path: Path) -> None:
    """The submit went out and an answer came that the client would not read: it may be queued, and
    billed, so the journal says ambiguous and resume never sends it again."""
    journal = tmp_path / "journal.sqlite3"
    with (
        hostile_provider() as (base, counts, _sent),
        _client(base, "endless", "submit", journal=journal) as c,
        pytest.raises(ResponseTooLargeError),
    ):
        c.submit(T2I, {"prompt": "p"})
    assert counts["submit"] == 1
    opened = Journal(journal)
    try:
        states = [entry.state for entry in opened.entries()]
    finally:
        opened.close()
    assert states == ["ambiguous"]


@pytest.mark.asyncio
async def test_the_async_client_has_the_same_bounds() -> None:
    with hostile_provider() as (base, counts, _sent):
        for kind, role in (("endless", "result"), ("endless-event", "stream"), ("gzip-bomb", "image")):
            provider = Provider.fal("k-id:k-secret", queue_base_url=f"{base}/{kind}/{role}")
            async with AsyncClient(provider, retry=RETRYING, max_response_bytes=LIMIT) as client:
                with pytest.raises(ResponseTooLargeError):
                    if role == "result":
                        await client.result(T2I, "r")
                    elif role == "stream":
                        async for _ in client.stream_status(T2I, "r"):
                            pass
                    else:
                        await client.download_image((await client.result(T2I, "r")).images[0])
        assert counts["result"] == 2 and counts["stream"] == 1 and counts["image"] == 1


def test_answers_within_the_bound_are_read_as_before() -> None:
    """The bound changes nothing below it: a status, a result, a stream and a gzip body that decodes
    within the bound."""
    with hostile_provider() as (base, _counts, _sent), _client(base, "ok", "none") as client:
        assert client.status(T2I, "r").status == "COMPLETED"  # what this provider answers
        assert client.result(T2I, "r").seed == 1
        assert [s.status for s in client.stream_status(T2I, "r")] == ["COMPLETED"]


def test_a_bound_under_a_kibibyte_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="max_response_bytes"):
        Client(Provider.fal("k-id:k-secret"), max_response_bytes=10)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", "identity", "gzip, deflate"])
def test_the_bounded_decoder_decodes_what_httpx_decodes(encoding: str) -> None:
    body = json.dumps({"seed": 7, "text": "x" * 300_000}).encode()
    raw = {
        "gzip": gzip.compress(body),
        "deflate": zlib.compress(body),
        "raw-deflate": zlib.compress(body)[2:-4],
        "identity": body,
        "gzip, deflate": zlib.compress(gzip.compress(body)),
    }[encoding]
    header = "deflate" if encoding == "raw-deflate" else encoding
    decoder = BodyDecoder.for_encoding(header)
    assert decoder is not None
    pieces = [piece for at in range(0, len(raw), 1000) for piece in decoder.feed(raw[at : at + 1000])]
    pieces += list(decoder.end())
    assert b"".join(pieces) == body and max(map(len, pieces)) <= PIECE
    assert b"".join(pieces) == httpx.Response(200, headers={"content-encoding": header}, content=raw).content


def test_the_bounded_decoder_refuses_bad_data_and_leaves_other_codings_to_httpx() -> None:
    decoder = BodyDecoder.for_encoding("gzip")
    assert decoder is not None
    with pytest.raises(BodyDecodingError, match="not gzip data"):
        list(decoder.feed(b"not gzip at all"))
    chained = BodyDecoder.for_encoding("gzip, gzip")  # a bomb in a bomb: each stage gives bounded pieces
    assert chained is not None
    inner = gzip.compress(gzip.compress(b" " * (64 * 1024 * 1024)))
    assert max(len(piece) for piece, _ in zip(chained.feed(inner), range(100), strict=False)) <= PIECE
    assert (
        BodyDecoder.for_encoding("br") is None
        and BodyDecoder.for_encoding("gzip, br") is None
        and BodyDecoder.for_encoding("x-gzip") is None
    )
    assert BodyDecoder.for_encoding(None) is not None and BodyDecoder.for_encoding("identity") is not None
