"""Recording a run of the checks as HAR 1.2 (``check --record FILE.har``), and serving it back
(``check --replay FILE.har``).

**Record.** :class:`Recorder` wraps the transports a :class:`~._http.Session` sends through, so it sees
every exchange exactly as it went over the wire: the request (method, URL, headers, body), the answer
(status, headers, body as the checks read it) and the timings. :func:`write_har` writes them as HAR 1.2
(http://www.softwareishard.com/blog/har-12-spec/, the format browser devtools import and export), through
a temporary file and a rename. Every text passes through the run's redactor (the key, and anything a
provider echoes of it, in headers, bodies and status streams, reads ``****``); bodies stored as base64
(images) are redacted as bytes. A body over the size bound (``--record-max-body``) is not stored: its
SHA-256 and size are (``content._sha256``), and a replay then skips the checks that needed it.

The HAR's ``log._kontext`` holds what a replay needs: who was checked (name, base URL, scheme), the options,
the provider document the run was checked against, and the run's report.

**Replay.** :class:`ReplayTransport` answers each request with the next recorded exchange of the same
method and URL (in recorded order), so the checks run again, offline and deterministic, against the
*current* contract. A request the recording has no answer for, a request whose JSON body differs from the
recorded one, or a body stored only as a digest raises :class:`~._http.MissingEvidence`: the checks that
need it are SKIP with that reason.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from .._redact import Redactor
from ._http import MissingEvidence

__all__ = [
    "DEFAULT_MAX_BODY",
    "HAR_FORMAT",
    "Recorder",
    "Recording",
    "RecordingProblem",
    "ReplayTransport",
    "build_har",
    "load_har",
    "write_har",
]

#: the largest body a recording stores, bytes (above it: its SHA-256 and size only)
DEFAULT_MAX_BODY = 4 * 1024 * 1024
#: version of ``log._kontext``; bumped only on an incompatible change
HAR_FORMAT = 1
_TEXT_TYPES = ("application/json", "text/", "application/problem+json", "application/xml")
_DROPPED_REQUEST_HEADERS = ("cookie",)


class RecordingProblem(Exception):
    """A file given to ``--replay`` is not a recording the checks can replay: the message names the file
    and what is wrong (not JSON, not HAR 1.2, no ``log._kontext``, an entry without a request)."""


@dataclass
class _Entry:
    """One exchange as the recorder saw it (raw, unredacted: redaction happens when it is written)."""

    started: float
    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int | None = None
    reason: str = ""
    http_version: str = "HTTP/1.1"
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    stored: bool = True
    digest: Any = field(default_factory=hashlib.sha256)
    complete: bool = False
    error: str | None = None
    wait: float = 0.0
    receive: float = 0.0

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


class _RecordingStream(httpx.SyncByteStream):
    """The answer's body, passed on to the reader chunk by chunk and kept (up to the bound) on the way."""

    def __init__(self, inner: httpx.SyncByteStream, entry: _Entry, bound: int, clock: float) -> None:
        self.inner = inner
        self.entry = entry
        self.bound = bound
        self.clock = clock

    def __iter__(self) -> Iterator[bytes]:
        entry = self.entry
        for chunk in self.inner:
            entry.size += len(chunk)
            entry.digest.update(chunk)
            if entry.stored:
                if entry.size > self.bound:
                    entry.stored = False
                    entry.chunks.clear()
                else:
                    entry.chunks.append(chunk)
            yield chunk
        entry.complete = True

    def close(self) -> None:
        self.entry.receive = time.perf_counter() - self.clock
        self.inner.close()


class _RecordingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, recorder: Recorder) -> None:
        self.inner = inner
        self.recorder = recorder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        entry = _Entry(
            started=time.time(),
            method=request.method,
            url=str(request.url),
            request_headers=[(k, v) for k, v in request.headers.multi_items()],
            request_body=request.read(),
        )
        self.recorder.entries.append(entry)
        clock = time.perf_counter()
        try:
            response = self.inner.handle_request(request)
        except httpx.HTTPError as exc:
            entry.error = f"{type(exc).__name__}: {exc}"
            entry.wait = time.perf_counter() - clock
            raise
        entry.wait = time.perf_counter() - clock
        entry.status = response.status_code
        entry.reason = response.reason_phrase
        version = response.extensions.get("http_version", b"HTTP/1.1")
        entry.http_version = (
            version.decode("ascii", "replace") if isinstance(version, bytes) else str(version)
        )
        entry.response_headers = [(k, v) for k, v in response.headers.multi_items()]
        assert isinstance(response.stream, httpx.SyncByteStream)
        stream = _RecordingStream(response.stream, entry, self.recorder.max_body, time.perf_counter())
        return httpx.Response(
            response.status_code, headers=response.headers, stream=stream, extensions=response.extensions
        )

    def close(self) -> None:
        self.inner.close()


class Recorder:
    """Collects every exchange of a run (``check --record``).

    Args:
        max_body: the largest body stored, bytes; a larger one is kept as its SHA-256 and size only (memory
            stays bounded by about this much per exchange whatever the provider sends).
    """

    def __init__(self, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.max_body = max_body
        self.entries: list[_Entry] = []

    def wrap(self, transport: httpx.BaseTransport) -> httpx.BaseTransport:
        """``transport``, with every exchange through it recorded."""
        return _RecordingTransport(transport, self)


# -- writing -------------------------------------------------------------------------------------------


def _decoded(entry: _Entry) -> tuple[bytes, str | None]:
    """The stored body with its ``content-encoding`` undone (HAR stores decoded content), and the encoding
    left in place when it is one this cannot undo."""
    encoding = next((v.lower() for k, v in entry.response_headers if k.lower() == "content-encoding"), "")
    body = entry.body
    try:
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompress(body, 16 + zlib.MAX_WBITS), None
        if encoding == "deflate":
            try:
                return zlib.decompress(body), None
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS), None
    except zlib.error:
        return body, encoding
    return body, (encoding or None) if encoding not in ("", "identity") else None


def _is_text(mime: str) -> bool:
    return any(mime.startswith(t) for t in _TEXT_TYPES) or mime.endswith("+json")


def _content(entry: _Entry, redactor: Redactor, bound: int) -> dict[str, Any]:
    mime = next((v for k, v in entry.response_headers if k.lower() == "content-type"), "")
    out: dict[str, Any] = {"size": entry.size, "mimeType": mime}
    if not entry.stored:
        out["_sha256"] = entry.digest.hexdigest()
        out["comment"] = (
            f"body not stored: {entry.size} bytes, over the recording's bound of {bound} bytes "
            "(--record-max-body); its SHA-256 is _sha256"
        )
        return out
    body, kept_encoding = _decoded(entry)
    out["size"] = len(body)
    if kept_encoding:
        out["_encoding"] = kept_encoding
    media = mime.split(";")[0].strip().lower()
    if _is_text(media) and not kept_encoding:
        try:
            out["text"] = redactor.text(body.decode("utf-8"))
            return out
        except UnicodeDecodeError:
            pass
    out["text"] = base64.b64encode(redactor.raw(body)).decode("ascii")
    out["encoding"] = "base64"
    return out


def _headers(
    pairs: list[tuple[str, str]], redactor: Redactor, drop: tuple[str, ...] = ()
) -> list[dict[str, str]]:
    return [{"name": k, "value": redactor.text(v)} for k, v in pairs if k.lower() not in drop]


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _har_entry(entry: _Entry, redactor: Redactor, bound: int) -> dict[str, Any]:
    url = redactor.text(entry.url)
    parts = urlsplit(url)
    request: dict[str, Any] = {
        "method": entry.method,
        "url": url,
        "httpVersion": entry.http_version,
        "cookies": [],
        "headers": _headers(entry.request_headers, redactor, _DROPPED_REQUEST_HEADERS),
        "queryString": [{"name": k, "value": v} for k, v in parse_qsl(parts.query, keep_blank_values=True)],
        "headersSize": -1,
        "bodySize": len(entry.request_body),
    }
    if entry.request_body:
        mime = next((v for k, v in entry.request_headers if k.lower() == "content-type"), "application/json")
        request["postData"] = {
            "mimeType": mime,
            "text": redactor.text(entry.request_body.decode("utf-8", "replace")),
        }
    wait_ms = round(entry.wait * 1000, 3)
    receive_ms = round(max(0.0, entry.receive - 0.0) * 1000, 3)
    har: dict[str, Any] = {
        "pageref": "run",
        "startedDateTime": _iso(entry.started),
        "time": round(wait_ms + receive_ms, 3),
        "request": request,
        "cache": {},
        "timings": {
            "blocked": -1,
            "dns": -1,
            "connect": -1,
            "ssl": -1,
            "send": 0,
            "wait": wait_ms,
            "receive": receive_ms,
        },
    }
    if entry.status is None:
        har["response"] = {
            "status": 0,
            "statusText": "",
            "httpVersion": "",
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": ""},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "_error": redactor.text(entry.error or "no answer"),
        }
        har["comment"] = "no answer: " + redactor.text(entry.error or "")
        return har
    content = _content(entry, redactor, bound)
    location = next((v for k, v in entry.response_headers if k.lower() == "location"), "")
    har["response"] = {
        "status": entry.status,
        "statusText": entry.reason,
        "httpVersion": entry.http_version,
        "cookies": [],
        "headers": _headers(entry.response_headers, redactor),
        "content": content,
        "redirectURL": redactor.text(location),
        "headersSize": -1,
        "bodySize": entry.size,
    }
    if not entry.complete:
        har["response"]["_cut"] = True
        har["comment"] = (
            "the checks stopped reading this answer before it ended (a status stream still open, a body over a bound)"
        )
    return har


def build_har(recorder: Recorder, redactor: Redactor, meta: dict[str, Any], *, title: str) -> dict[str, Any]:
    """The HAR 1.2 document of ``recorder``'s exchanges, redacted by ``redactor``, with ``meta`` as
    ``log._kontext`` (redacted too)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("kontext-contract")
    except PackageNotFoundError:
        ours = "0"
    started = recorder.entries[0].started if recorder.entries else time.time()
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "kontext-contract", "version": ours},
            "pages": [
                {
                    "startedDateTime": _iso(started),
                    "id": "run",
                    "title": redactor.text(title),
                    "pageTimings": {"onContentLoad": -1, "onLoad": -1},
                }
            ],
            "entries": [_har_entry(e, redactor, recorder.max_body) for e in recorder.entries],
            "comment": "Written by kontext-contract check --record; replay with kontext-contract check --replay.",
            "_kontext": redactor.deep({"format": HAR_FORMAT, **meta}),
        }
    }


def write_har(path: Path, har: dict[str, Any]) -> None:
    """Write ``har`` to ``path`` through a temporary file and a rename (a reader never sees half of it).

    Raises:
        OSError: the file cannot be written (nothing is left behind).
    """
    from ..pipeline import write_atomic

    write_atomic(path, json.dumps(har, indent=1, ensure_ascii=False) + "\n")


# -- reading and replaying -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """A recording read back: its entries and ``log._kontext``."""

    path: Path
    entries: list[dict[str, Any]]
    meta: dict[str, Any]


def load_har(path: Path, *, max_bytes: int = 512 * 1024 * 1024) -> Recording:
    """Read a recording written by ``check --record``.

    Raises:
        RecordingProblem: the file cannot be read, is larger than ``max_bytes``, is not JSON, not HAR 1.2,
            or lacks ``log._kontext`` (it was not written by ``check --record``); the message names the file.
    """
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise RecordingProblem(f"{path}: {size} bytes, larger than the {max_bytes} bytes a replay reads")
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise RecordingProblem(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except (ValueError, RecursionError) as exc:
        raise RecordingProblem(f"{path}: not JSON ({exc})") from None
    log = data.get("log") if isinstance(data, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        raise RecordingProblem(f"{path}: not a HAR file (expected {{'log': {{'entries': [...]}}}})")
    if str(log.get("version")) != "1.2":
        raise RecordingProblem(f"{path}: log.version is {log.get('version')!r}, expected '1.2'")
    meta = log.get("_kontext")
    if not isinstance(meta, dict) or meta.get("format") != HAR_FORMAT:
        raise RecordingProblem(
            f"{path}: log._kontext is missing or not format {HAR_FORMAT}: a replay needs a recording written by "
            "kontext-contract check --record"
        )
    for i, entry in enumerate(log["entries"]):
        request = entry.get("request") if isinstance(entry, dict) else None
        if (
            not isinstance(request, dict)
            or not isinstance(request.get("url"), str)
            or not isinstance(entry.get("response"), dict)
        ):
            raise RecordingProblem(f"{path}: log.entries[{i}] has no request.url or no response")
    return Recording(path, log["entries"], meta)


class _ReplayStream(httpx.SyncByteStream):
    def __init__(self, body: bytes, cut: bool, request: httpx.Request) -> None:
        self.body = body
        self.cut = cut
        self.request = request

    def __iter__(self) -> Iterator[bytes]:
        if self.body:
            yield self.body
        if self.cut:
            raise httpx.ReadTimeout(
                "the recorded answer was still open when the recorded run stopped reading it",
                request=self.request,
            )


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


class ReplayTransport(httpx.BaseTransport):
    """Answers requests from a recording: the next recorded exchange of the same method and URL.

    Raises (from :meth:`handle_request`):
        MissingEvidence: no recorded exchange is left for the request, the request's JSON body differs from
            the recorded one, or the recorded body was stored only as a digest.
        httpx.ConnectError: the recorded request got no answer.
    """

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self._queues: dict[tuple[str, str], deque[dict[str, Any]]] = {}
        for entry in recording.entries:
            key = (str(entry["request"].get("method", "GET")).upper(), entry["request"]["url"])
            self._queues.setdefault(key, deque()).append(entry)
        self.served = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.method.upper(), str(request.url))
        queue = self._queues.get(key)
        base = str(self.recording.meta.get("base_url") or "")
        url = str(request.url)
        shown = f"{request.method} {url.removeprefix(base) if base and url.startswith(base) else url}"
        if not queue:
            raise MissingEvidence(
                f"the recording has no {'further ' if key in self._queues else ''}answer to {shown} "
                f"({len(self.recording.entries)} exchanges recorded): the checks ask it now, under the "
                "current contract"
            )
        entry = queue.popleft()
        self.served += 1
        posted = entry["request"].get("postData", {}).get("text")
        sent = request.read()
        if posted is not None or sent:
            now = _json_or_none(sent.decode("utf-8", "replace")) if sent else None
            then = _json_or_none(posted) if posted is not None else None
            if now != then:
                raise MissingEvidence(
                    f"the checks now send {shown} with another body than the recording holds (the contract's "
                    "input changed since the recording?), so the recorded answer does not apply"
                )
        response = entry["response"]
        if response.get("_error") is not None or not response.get("status"):
            raise httpx.ConnectError(f"(recorded) {response.get('_error', 'no answer')}", request=request)
        content = response.get("content") or {}
        if "text" not in content:
            raise MissingEvidence(
                f"the recording holds only the digest of the answer to {shown} ({content.get('size')} bytes, "
                "over the recording's --record-max-body)"
            )
        text = str(content["text"])
        body = base64.b64decode(text) if content.get("encoding") == "base64" else text.encode("utf-8")
        headers = [
            (h["name"], h["value"])
            for h in response.get("headers") or []
            if h["name"].lower() not in ("content-length", "transfer-encoding")
            and not (h["name"].lower() == "content-encoding" and not content.get("_encoding"))
        ]
        if not response.get("_cut"):
            headers.append(("content-length", str(len(body))))
        return httpx.Response(
            int(response["status"]),
            headers=headers,
            stream=_ReplayStream(body, bool(response.get("_cut")), request),
            request=request,
        )
