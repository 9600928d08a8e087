"""verify_webhook / averify_webhook and JWKSCache (docs/client.md "Webhooks", docs/sources.md §3.7): every
reason a webhook is refused, the typed payload, and the hostile family of JWKS answers (huge, malformed,
slow), each bounded. Deliveries are signed here with PyNaCl, independently of the mock's signer."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from nacl.signing import SigningKey

from kontext_contract.client import (
    JWKSCache,
    JWKSError,
    KontextOutput,
    WebhookVerificationError,
    averify_webhook,
    verify_webhook,
)

T2I = "fal-ai/flux-pro/kontext/text-to-image"
KEY = SigningKey(b"k" * 32)
OTHER = SigningKey(b"o" * 32)
NOW = 1_760_000_000
OUTPUT = {
    "images": [
        {
            "url": "https://v3.fal.media/files/x.jpg",
            "content_type": "image/jpeg",
            "width": 1024,
            "height": 1024,
        }
    ],
    "seed": 1,
    "has_nsfw_concepts": [False],
    "prompt": "p",
    "timings": {},
}


def _jwk(key: SigningKey) -> dict[str, str]:
    x = base64.urlsafe_b64encode(bytes(key.verify_key)).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x}


JWKS = {"keys": [_jwk(OTHER), _jwk(KEY)]}


def _body(**fields: Any) -> bytes:
    body = {
        "request_id": "r-1",
        "gateway_request_id": "r-1",
        "status": "OK",
        "payload": OUTPUT,
        "error": None,
    }
    body.update(fields)
    return json.dumps(body).encode()


def _signed(
    body: bytes, *, key: SigningKey = KEY, request_id: str = "r-1", ts: int = NOW, **override: str
) -> dict[str, str]:
    message = f"{request_id}\n{'u-1'}\n{ts}\n{hashlib.sha256(body).hexdigest()}".encode()
    headers = {
        "X-Fal-Webhook-Request-Id": request_id,
        "X-Fal-Webhook-User-Id": "u-1",
        "X-Fal-Webhook-Timestamp": str(ts),
        "X-Fal-Webhook-Signature": key.sign(message).signature.hex(),
    }
    headers.update(override)
    return headers


def _reason(headers: Any, body: bytes, jwks: Any = JWKS, **kw: Any) -> str:
    with pytest.raises(WebhookVerificationError) as raised:
        verify_webhook(headers, body, jwks=jwks, now=NOW, **kw)
    return raised.value.reason


def test_a_webhook_signed_as_fal_signs_is_verified_and_typed():
    body = _body()
    hook = verify_webhook(_signed(body), body, jwks=JWKS, now=NOW, endpoint=T2I)
    assert hook.ok and hook.request_id == "r-1" and hook.user_id == "u-1" and hook.timestamp == NOW
    assert isinstance(hook.output, KontextOutput) and hook.output.images[0].width == 1024
    lower = {k.lower(): v for k, v in _signed(body).items()}  # header names in any case, or pairs
    assert verify_webhook(list(lower.items()), body, jwks=JWKS, now=NOW + 299).ok


def test_an_error_webhook_has_no_output_and_its_error():
    body = _body(
        status="ERROR",
        payload={"detail": [{"loc": ["body", "prompt"], "msg": "x", "type": "missing"}]},
        error="Invalid status code: 422",
    )
    hook = verify_webhook(_signed(body), body, jwks=JWKS, now=NOW)
    assert not hook.ok and hook.output is None and hook.error == "Invalid status code: 422"


@pytest.mark.parametrize("missing", ["Request-Id", "User-Id", "Timestamp", "Signature"])
def test_each_missing_header(missing: str):
    body = _body()
    headers = {k: v for k, v in _signed(body).items() if not k.endswith(missing)}
    assert _reason(headers, body) == "missing_header"
    assert _reason({**headers, f"X-Fal-Webhook-{missing}": "  "}, body) == "missing_header"


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        (NOW - 301, "stale_timestamp"),
        (NOW + 301, "future_timestamp"),
        ("-5", "bad_timestamp"),
        ("1e9", "bad_timestamp"),
        ("9" * 40, "bad_timestamp"),
        ("\uff11\uff12\uff13", "bad_timestamp"),
    ],
)
def test_timestamps(ts: Any, reason: str):
    body = _body()
    assert _reason(_signed(body, **{"X-Fal-Webhook-Timestamp": str(ts)}), body) == reason


def test_the_tolerance_is_a_parameter():
    body = _body()
    headers = _signed(body, ts=NOW - 100)
    assert _reason(headers, body, tolerance=60) == "stale_timestamp"


@pytest.mark.parametrize("signature", ["zz" * 64, "ab" * 63, "ab" * 65, "", "0x" + "ab" * 63, "é" * 128])
def test_signatures_that_are_not_128_hex_digits(signature: str):
    body = _body()
    headers = _signed(body, **{"X-Fal-Webhook-Signature": signature})
    assert _reason(headers, body) in ("bad_hex", "missing_header")


def test_bad_signatures():
    body = _body()
    assert _reason(_signed(body), body + b" ") == "bad_signature"  # the body changed
    assert _reason(_signed(body, key=SigningKey(b"z" * 32)), body) == "bad_signature"  # a key not in the JWKS
    assert _reason(_signed(body, **{"X-Fal-Webhook-User-Id": "u-2"}), body) == "bad_signature"


def test_unknown_key_when_the_jwks_has_no_ed25519_key():
    body = _body()
    assert (
        _reason(_signed(body), body, jwks={"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]}) == "unknown_key"
    )
    assert _reason(_signed(body), body, jwks={"keys": []}) == "unknown_key"


def test_bodies_that_are_not_fals():
    for body, reason in (
        (b"not json", "not_json"),
        (b'{"status": "DONE", "request_id": "r-1"}', "bad_payload"),
        (b"[1, 2]", "bad_payload"),
        (_body(payload={"images": "not a list"}), "bad_payload"),
        (_body(request_id="r-2"), "request_id_mismatch"),
    ):
        assert _reason(_signed(body), body) == reason, body[:40]


def test_the_message_names_the_reason_and_never_the_body():
    body = _body(prompt_secret="canary-Zq9")
    with pytest.raises(WebhookVerificationError) as raised:
        verify_webhook(_signed(body), body + b"x", jwks=JWKS, now=NOW)
    assert "bad_signature" in str(raised.value) and "canary" not in str(raised.value) + repr(raised.value)


@pytest.mark.asyncio
async def test_the_async_twin_with_a_cache():
    body = _body()
    served: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        served.append(request)
        return httpx.Response(200, json=JWKS)

    cache = JWKSCache(async_transport=httpx.MockTransport(handler), transport=httpx.MockTransport(handler))
    for _ in range(3):
        hook = await averify_webhook(_signed(body), body, jwks=cache, now=NOW, endpoint=T2I)
        assert isinstance(hook.output, KontextOutput)
    assert verify_webhook(_signed(body), body, jwks=cache, now=NOW).ok
    assert len(served) == 1 and str(served[0].url) == "https://rest.fal.ai/.well-known/jwks.json"
    with pytest.raises(WebhookVerificationError):
        await averify_webhook(_signed(body), body + b"!", jwks=cache, now=NOW)


# -- JWKSCache -------------------------------------------------------------------------------------


def test_the_cache_keeps_keys_for_its_ttl_and_never_longer_than_a_day(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FAL_KEY", "canary-key-id:canary-secret-77")
    served: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        served.append(request)
        return httpx.Response(200, json=JWKS)

    now = [0.0]
    cache = JWKSCache(ttl=3600, transport=httpx.MockTransport(handler), clock=lambda: now[0])
    assert len(cache.keys()) == 2
    now[0] = 3599
    cache.keys()
    now[0] = 3600
    cache.keys()
    assert len(served) == 2
    assert all("authorization" not in r.headers for r in served)  # no key is ever sent
    assert all("canary" not in str(r.headers) + str(r.url) for r in served)
    for ttl in (0, -1, 86401, float("inf")):
        with pytest.raises(ValueError, match="at most 24 h"):
            JWKSCache(ttl=ttl)


MALFORMED: list[tuple[str, bytes]] = [
    ("not JSON", b"<html>oops</html>"),
    ("empty", b""),
    ("a list", b"[]"),
    ("keys not a list", b'{"keys": {"a": 1}}'),
    ("no keys", b'{"jwks": []}'),
    ("x not base64url", b'{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "+/+/"}]}'),
    (
        "x of 31 bytes",
        json.dumps(
            {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(b"a" * 31).decode()}]}
        ).encode(),
    ),
    ("x a number", b'{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": 5}]}'),
    ("deep nesting", b"[" * 100_000),
    ("binary", b"\xff\xfe\x00\x01"),
]


@pytest.mark.parametrize(("what", "content"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_jwks_answers_are_a_named_error(what: str, content: bytes):
    cache = JWKSCache(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=content)), max_bytes=1 << 20
    )
    with pytest.raises(JWKSError) as raised:
        cache.keys()
    assert raised.value.reason == "malformed"


def test_non_ed25519_keys_are_skipped_and_their_number_bounded():
    many = {"keys": [{"kty": "RSA"}] + [_jwk(SigningKey(bytes([i]) * 32)) for i in range(40)]}
    cache = JWKSCache(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=many)))
    assert len(cache.keys()) == 16


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_huge_jwks_answers_stop_at_max_bytes(declared: bool):
    sent = [0]

    def chunks() -> Iterator[bytes]:
        for _ in range(10_000):  # 640 MB if read to the end
            sent[0] += 1
            yield b" " * 65536

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-length": str(10_000 * 65536)} if declared else {}
        return httpx.Response(200, headers=headers, content=chunks())

    cache = JWKSCache(transport=httpx.MockTransport(handler), max_bytes=100_000)
    with pytest.raises(JWKSError) as raised:
        cache.keys()
    assert raised.value.reason == "too_large" and sent[0] <= 3


def test_unavailable_jwks():
    for handler in (
        lambda r: httpx.Response(503),
        lambda r: (_ for _ in ()).throw(httpx.ConnectError("down")),
    ):
        with pytest.raises(JWKSError) as raised:
            JWKSCache(transport=httpx.MockTransport(handler)).keys()
        assert raised.value.reason == "unavailable"


class _Dripping:
    """A loopback server that answers 200 and then one byte every 0.2 s, forever (bounded: 200 bytes)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/.well-known/jwks.json"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
                )
                for _ in range(200):
                    if self.stop.is_set():
                        break
                    try:
                        conn.sendall(b"1\r\n \r\n")
                    except OSError:
                        break
                    time.sleep(0.2)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture
def dripping() -> Iterator[_Dripping]:
    server = _Dripping()
    yield server
    server.close()


def test_a_slow_jwks_answer_is_abandoned_sync(dripping: _Dripping):
    started = time.monotonic()
    with pytest.raises(JWKSError) as raised:
        JWKSCache(dripping.url, timeout=0.6).keys()
    assert raised.value.reason == "timeout" and time.monotonic() - started < 2.0


@pytest.mark.asyncio
async def test_a_slow_jwks_answer_is_abandoned_async(dripping: _Dripping):
    started = time.monotonic()
    with pytest.raises(JWKSError) as raised:
        await JWKSCache(dripping.url, timeout=0.6).akeys()
    assert raised.value.reason == "timeout" and time.monotonic() - started < 1.5


# -- key rotation ------------------------------------------------------------------------------------


def _rotating(served: list[int]) -> httpx.MockTransport:
    """A JWKS that holds OTHER on the first fetch and KEY from the second on (fal rotated its key)."""

    def handler(request: httpx.Request) -> httpx.Response:
        served.append(1)
        return httpx.Response(200, json={"keys": [_jwk(OTHER if len(served) == 1 else KEY)]})

    return httpx.MockTransport(handler)


def test_a_rotated_key_is_fetched_once_and_forgeries_cannot_make_it_fetch_more():
    served: list[int] = []
    now = [0.0]
    cache = JWKSCache(transport=_rotating(served), clock=lambda: now[0], refresh_interval=60)
    assert len(cache.keys()) == 1 and len(served) == 1  # OTHER only
    now[0] = 61
    body = _body()
    assert verify_webhook(_signed(body), body, jwks=cache, now=NOW).ok  # KEY: fetched again, accepted
    assert len(served) == 2
    forged = _signed(body, key=SigningKey(b"f" * 32))
    for step in range(5):  # forgeries within the interval: refused, no fetch
        now[0] = 61 + step
        assert _reason(forged, body, jwks=cache) == "bad_signature"
    assert len(served) == 2
    now[0] = 200
    assert _reason(forged, body, jwks=cache) == "bad_signature"  # one fetch per interval at most
    assert len(served) == 3
    with pytest.raises(ValueError, match="refresh_interval"):
        JWKSCache(refresh_interval=0)


def test_a_failed_refresh_keeps_the_keys_and_refuses_with_the_signature_reason():
    answers = [httpx.Response(200, json={"keys": [_jwk(OTHER)]}), httpx.Response(503)]
    served: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        served.append(1)
        return answers[min(len(served), len(answers)) - 1]

    now = [0.0]
    cache = JWKSCache(transport=httpx.MockTransport(handler), clock=lambda: now[0])
    cache.keys()
    now[0] = 100
    body = _body()
    assert _reason(_signed(body), body, jwks=cache) == "bad_signature"
    assert len(served) == 2 and len(cache.keys()) == 1
    assert _reason(_signed(body), body, jwks=cache) == "bad_signature"  # the failed fetch counts
    assert len(served) == 2


@pytest.mark.asyncio
async def test_the_async_twin_fetches_a_rotated_key():
    served: list[int] = []
    now = [0.0]
    cache = JWKSCache(async_transport=_rotating(served), clock=lambda: now[0])
    assert len(await cache.akeys()) == 1
    now[0] = 61
    body = _body()
    assert (await averify_webhook(_signed(body), body, jwks=cache, now=NOW)).ok
    assert len(served) == 2
