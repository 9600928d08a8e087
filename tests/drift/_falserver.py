"""A loopback stand-in for fal's per-endpoint OpenAPI (``/api/openapi/queue/openapi.json?endpoint_id=``), for
the intake tests. It listens on 127.0.0.1 only and serves the document made for the test
(tests/fixtures/made-for-test/fal-openapi/), or one bad answer, chosen by the first path segment:

``/ok/openapi.json?endpoint_id=...`` the document, with the endpoint id asked for; ``/html/`` an HTML page;
``/404/``, ``/500/``, ``/503/``; ``/big/`` a Content-Length over 4 MiB; ``/big-stream/`` more than 4 MiB
without a Content-Length; ``/deep/`` JSON nested 100,000 deep; ``/bigint/`` a 5,000-digit
number; ``/not-openapi/`` JSON that is not OpenAPI; ``/other-endpoint/`` OpenAPI of
another endpoint; ``/off-host/`` a redirect to another host; ``/same-host/`` a redirect to ``/ok/``;
``/slow/`` an answer after :data:`SLOW_SECONDS`; ``/partial/`` a body shorter than its Content-Length;
``/one-bad/`` the document, except a partial body for the endpoint ids ending in ``max/multi``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURE = (
    Path(__file__).resolve().parent.parent
    / "fixtures"
    / "made-for-test"
    / "fal-openapi"
    / "fal-ai--flux-pro--kontext.made-for-test.json"
)
FIXTURE_ENDPOINT = "fal-ai/flux-pro/kontext"
SLOW_SECONDS = 3.0
FOUR_MIB = 4 * 1024 * 1024


def document_for(endpoint_id: str, edit: Callable[[dict[str, Any]], None] | None = None) -> bytes:
    """The made-for-test document, describing ``endpoint_id``; ``edit`` changes the parsed document first."""
    text = FIXTURE.read_text(encoding="utf-8").replace(f'"{FIXTURE_ENDPOINT}', f'"{endpoint_id}')
    text = text.replace(f"/{FIXTURE_ENDPOINT}", f"/{endpoint_id}")
    doc = json.loads(text)
    schema = doc["components"]["schemas"]["FluxProKontextInput"]
    if endpoint_id.endswith("/multi"):  # fal-js FluxKontextMultiInput: image_urls instead of image_url
        image = schema["properties"].pop("image_url")
        schema["properties"]["image_urls"] = {**image, "type": "array", "items": {"type": "string"}}
        schema["required"] = ["prompt", "image_urls"]
    elif endpoint_id.endswith("text-to-image"):  # fal-js FluxProKontextTextToImageInput: no image input
        del schema["properties"]["image_url"]
        schema["required"] = ["prompt"]
        schema["properties"]["aspect_ratio"]["default"] = "1:1"
    if edit is not None:
        edit(doc)
    return json.dumps(doc, indent=2).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(
        self, code: int, body: bytes, media: str = "application/json", length: int | None = None
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        mode = url.path.strip("/").split("/")[0]
        endpoint_id = parse_qs(url.query).get("endpoint_id", [""])[0]
        self.server.requests.append(self.path)
        good = document_for(endpoint_id, self.server.edit)
        if mode == "ok" or (mode == "one-bad" and not endpoint_id.endswith("max/multi")):
            self._send(200, good)
        elif mode == "html":
            self._send(200, b"<!doctype html><html><body>Sign in</body></html>", "text/html; charset=utf-8")
        elif mode in ("404", "500", "503"):
            self._send(int(mode), b'{"detail": "no"}')
        elif mode == "big":
            self._send(200, b"{}", length=FOUR_MIB + 1)
        elif mode == "big-stream":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            chunk = b" " * 65536
            for _ in range(FOUR_MIB // len(chunk) + 2):
                self.wfile.write(chunk)
        elif mode == "deep":  # JSON nested past Python's recursion limit
            self._send(200, b"[" * 100_000 + b"]" * 100_000)
        elif mode == "bigint":  # a number of more digits than int() converts
            self._send(200, b'{"openapi": "3.1.0", "x": ' + b"9" * 5000 + b"}")
        elif mode == "not-openapi":
            self._send(200, b'{"hello": "world"}')
        elif mode == "other-endpoint":
            self._send(200, document_for("fal-ai/flux/dev"))
        elif mode == "off-host":
            self.send_response(302)
            self.send_header("Location", "http://elsewhere.invalid/openapi.json")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif mode == "same-host":
            self.send_response(302)
            self.send_header("Location", f"/ok/openapi.json?{url.query}")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif mode == "slow":
            time.sleep(SLOW_SECONDS)
            self._send(200, good)
        elif mode in ("partial", "one-bad"):
            self._send(200, good[:100], length=len(good))
        else:
            self._send(400, b'{"detail": "unknown mode"}')


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[str]
    edit: Callable[[dict[str, Any]], None] | None


@contextmanager
def fal_server(edit: Callable[[dict[str, Any]], None] | None = None) -> Iterator[tuple[str, list[str]]]:
    """Serve on 127.0.0.1 (a free port); yields (``http://127.0.0.1:PORT``, the request paths seen)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.requests = []
    server.edit = edit
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
