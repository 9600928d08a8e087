"""Hostile input as a class: image bombs of every decoder family, forged file names, bad bodies and webhook
URLs against the mock; an echoing provider, a silent provider and an unreachable one against the client and
``kontext-contract generate``. Helpers: bomb builders, loopback servers in threads, the canary key."""

from __future__ import annotations

import base64
import io
import json
import secrets
import socket
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PIL import Image

T2I = "fal-ai/flux-pro/kontext/text-to-image"
EDIT = "fal-ai/flux-pro/kontext"
MULTI = "fal-ai/flux-pro/kontext/multi"

# ---- images ----------------------------------------------------------------------------------------


def data_uri(raw: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(raw).decode("ascii")


def encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _png_with_size(raw: bytes, width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height`` (CRC fixed), its pixel data unchanged."""
    ihdr = bytearray(raw[16:29])
    ihdr[0:8] = struct.pack(">II", width, height)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)) & 0xFFFFFFFF)
    return raw[:16] + bytes(ihdr) + crc + raw[33:]


def _jpeg_with_size(raw: bytes, width: int, height: int) -> bytes:
    """A JPEG whose SOF0 frame header claims ``width`` x ``height``."""
    at = raw.index(b"\xff\xc0")
    return raw[: at + 5] + struct.pack(">HH", height, width) + raw[at + 9 :]


def _gif_with_size(raw: bytes, width: int, height: int) -> bytes:
    """A GIF whose logical screen claims ``width`` x ``height``."""
    return raw[:6] + struct.pack("<HH", width, height) + raw[10:]


def _bmp_with_size(raw: bytes, width: int, height: int) -> bytes:
    """A BMP whose info header claims ``width`` x ``height``."""
    return raw[:18] + struct.pack("<ii", width, height) + raw[26:]


def _webp_with_size(raw: bytes, width: int, height: int) -> bytes:
    """A lossless WebP (VP8L) whose header claims ``width`` x ``height`` (at most 16384 each)."""
    at = raw.index(b"VP8L") + 9  # after the chunk size and the 0x2f signature
    bits = struct.unpack("<I", raw[at : at + 4])[0]
    bits = (bits & ~((1 << 28) - 1)) | (width - 1) | ((height - 1) << 14)
    return raw[:at] + struct.pack("<I", bits) + raw[at + 4 :]


#: one small image per decoder family, and how to make its header claim another size
FAMILIES: dict[str, tuple[str, Callable[[], bytes], Callable[[bytes, int, int], bytes]]] = {
    "png": ("image/png", lambda: encoded(Image.new("RGB", (16, 16)), "PNG"), _png_with_size),
    "jpeg": ("image/jpeg", lambda: encoded(Image.new("RGB", (16, 16)), "JPEG"), _jpeg_with_size),
    "gif": ("image/gif", lambda: encoded(Image.new("P", (16, 16)), "GIF"), _gif_with_size),
    "bmp": ("image/bmp", lambda: encoded(Image.new("RGB", (16, 16)), "BMP"), _bmp_with_size),
    "webp": (
        "image/webp",
        lambda: encoded(Image.new("RGB", (16, 16)), "WEBP", lossless=True),
        _webp_with_size,
    ),
}


def bomb(family: str, width: int, height: int) -> str:
    """A data: URI of a few hundred bytes whose header claims ``width`` x ``height`` pixels."""
    mime, make, resize = FAMILIES[family]
    return data_uri(resize(make(), width, height), mime)


def real_image(family: str, width: int, height: int) -> str:
    """A data: URI of a real, fully decodable image of ``width`` x ``height`` (uniform: small encoded)."""
    mime = FAMILIES[family][0]
    if family == "png":
        return data_uri(encoded(Image.new("RGBA", (width, height)), "PNG", compress_level=9), mime)
    if family == "gif":
        return data_uri(encoded(Image.new("P", (width, height)), "GIF"), mime)
    if family == "webp":
        return data_uri(encoded(Image.new("RGB", (width, height)), "WEBP", lossless=True), mime)
    if family == "jpeg":
        return data_uri(encoded(Image.new("RGB", (width, height)), "JPEG", progressive=True), mime)
    return data_uri(encoded(Image.new("RGB", (width, height)), "BMP"), mime)


# ---- the canary and loopback servers ---------------------------------------------------------------


@pytest.fixture
def canary() -> str:
    """A key nobody else uses, to search every output for."""
    return "canary-" + secrets.token_hex(12)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def silent_server() -> Iterator[str]:
    """A loopback socket that accepts connections (and reads what comes) but never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        listener.close()


class _Echo(BaseHTTPRequestHandler):
    """A provider that puts the Authorization value it receives everywhere it can: a response header,
    the request id, the queue URLs, a status value, log lines, SSE events and error details."""

    protocol_version = "HTTP/1.1"
    mode = "status"  # which echo the status answers with: "status" (an unknown status), "logs", "sse"

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
        pass

    def _json(self, status: int, body: Any) -> None:
        auth = self.headers.get("authorization", "")
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-echo", auth)
        self.send_header("x-fal-request-id", auth.split(" ")[-1])
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        auth = self.headers.get("authorization", "")
        rid = auth.split(" ")[-1]
        base = f"http://{self.headers['host']}/fal-ai/flux-pro/requests/{rid}"
        self._json(
            200,
            {
                "status": "IN_QUEUE",
                "request_id": rid,
                "response_url": base,
                "status_url": base + "/status",
                "cancel_url": base + "/cancel",
                "queue_position": 0,
            },
        )

    def do_PUT(self) -> None:
        self._json(
            400,
            {"status": "ALREADY_COMPLETED", "detail": f"cancel refused for {self.headers['authorization']}"},
        )

    def do_GET(self) -> None:
        auth = self.headers.get("authorization", "")
        rid = auth.split(" ")[-1]
        if self.path.startswith("/img/"):
            data = encoded(Image.new("RGB", (8, 8)), "PNG")
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.send_header("content-length", str(len(data)))
            self.send_header("x-echo", auth)
            self.end_headers()
            self.wfile.write(data)
            return
        if self.path.split("?")[0].endswith("/status/stream"):
            event: dict[str, Any] = {"status": auth, "request_id": rid}  # an unknown status, in an SSE event
            if self.mode == "logs":
                log = {"message": f"using {auth}", "level": "INFO", "source": "user", "timestamp": "t"}
                event = {"status": "COMPLETED", "request_id": rid, "logs": [log], "metrics": {}}
            data = b"data: " + json.dumps(event).encode() + b"\n\n"
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("content-length", str(len(data)))
            self.send_header("x-echo", auth)
            self.end_headers()
            self.wfile.write(data)
            return
        if self.path.split("?")[0].endswith("/status"):
            if self.mode == "logs":
                log = {"message": f"using {auth}", "level": "INFO", "source": "user", "timestamp": "t"}
                self._json(200, {"status": "COMPLETED", "request_id": rid, "logs": [log], "metrics": {}})
            else:
                self._json(200, {"status": auth, "request_id": rid})
            return
        if self.mode == "logs":  # the result: an output whose prompt and URLs echo the key
            image = {
                "url": f"http://{self.headers['host']}/img/{rid}.png",
                "content_type": "image/png",
                "width": 8,
                "height": 8,
            }
            self._json(
                200,
                {"images": [image], "seed": 1, "prompt": auth, "has_nsfw_concepts": [False], "timings": {}},
            )
            return
        self._json(
            422, {"detail": [{"loc": ["body", "prompt"], "msg": f"bad {auth}", "type": "x", "input": auth}]}
        )


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up on a hostile answer is what the tests provoke, not an error to print


@contextmanager
def threaded_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` serving on a loopback port in a thread; yields its base URL, and stops it after."""
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def echo_server(mode: str = "status") -> Iterator[str]:
    """A loopback provider in a thread that echoes the Authorization value back (see :class:`_Echo`)."""
    with threaded_server(type("Echo", (_Echo,), {"mode": mode})) as base:
        yield base
