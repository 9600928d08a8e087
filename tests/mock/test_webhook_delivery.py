"""Webhooks as fal sends them: signed (checked by an independent PyNaCl verifier), fal's body, retried on
fal's schedule compressed, and the three webhook faults (docs/mock.md "Webhooks", docs/sources.md §3.7)."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from kontext_contract._webhook_scheme import retry_delays
from kontext_contract.mock import MockConfig, create_app
from kontext_contract.mock._signing import WebhookSigner

from .conftest import BASE, FAL_AUTH, T2I
from .nacl_verifier import nacl_check

HOOK = "http://127.0.0.1:9/hook"


def _receiver(answer: Callable[[int], httpx.Response | Exception] | None = None):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        out = answer(len(seen)) if answer else httpx.Response(200)
        if isinstance(out, Exception):
            raise out
        return out

    return httpx.MockTransport(handler), seen


async def _run(
    config: MockConfig, transport: httpx.MockTransport, *, advance: float = 0.0, rounds: int = 1
) -> Any:
    app = create_app(config, webhook_transport=transport)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers=FAL_AUTH
    ) as client:
        jwks = (await client.get("/.well-known/jwks.json")).json()
        submitted = (await client.post(f"/{T2I}", params={"fal_webhook": HOOK}, json={"prompt": "p"})).json()
        for _ in range(rounds):
            app.mock.advance(advance)
            for _ in range(20):
                await asyncio.sleep(0)
            await asyncio.gather(*list(app.mock._tasks))
    return app, jwks, submitted


@pytest.mark.asyncio
async def test_every_delivery_is_signed_as_fal_signs_and_passes_an_independent_verifier():
    transport, seen = _receiver()
    app, jwks, submitted = await _run(MockConfig(deterministic=True), transport, advance=1.0)
    assert len(seen) == 1
    request = seen[0]
    assert nacl_check(request.headers, request.content, jwks) == "ok"
    assert request.headers["x-fal-webhook-request-id"] == submitted["request_id"]
    assert request.headers["x-fal-webhook-user-id"] == "mock-user"
    body = json.loads(request.content)
    assert set(body) == {"request_id", "gateway_request_id", "status", "payload", "error"}
    assert body["status"] == "OK" and body["payload"]["images"]
    key = jwks["keys"][0]
    assert (key["kty"], key["crv"], key["alg"]) == ("OKP", "Ed25519", "EdDSA") and key["kid"]
    assert app.mock.stats()["webhooks"] == {"sent": 1, "failed": 0, "refused": 0}


@pytest.mark.asyncio
async def test_an_error_delivery_carries_payload_error_and_is_signed_too():
    transport, seen = _receiver()
    app = create_app(MockConfig(deterministic=True), webhook_transport=transport)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers=FAL_AUTH
    ) as client:
        jwks = (await client.get("/.well-known/jwks.json")).json()
        await client.post(f"/{T2I}", params={"fal_webhook": HOOK}, json={"prompt": 5})
        app.mock.advance(1.0)
        await asyncio.sleep(0)
        await asyncio.gather(*list(app.mock._tasks))
    body = json.loads(seen[-1].content)
    assert body["status"] == "ERROR" and body["payload_error"] is None and body["error"]
    assert nacl_check(seen[-1].headers, seen[-1].content, jwks) == "ok"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("fault", "verdict"), [("bad-signature", "signature"), ("stale-timestamp", "timestamp")]
)
async def test_each_signature_fault_is_rejected_by_the_independent_verifier(fault: str, verdict: str):
    transport, seen = _receiver()
    app, jwks, _ = await _run(MockConfig(deterministic=True, webhook_faults=(fault,)), transport, advance=1.0)
    assert [nacl_check(r.headers, r.content, jwks) for r in seen] == [verdict]
    assert app.mock.stats()["webhook_deliveries"][f"fault:{fault}"] == 1


@pytest.mark.asyncio
async def test_the_duplicate_fault_delivers_the_same_signed_request_twice():
    transport, seen = _receiver()
    app, jwks, _ = await _run(
        MockConfig(deterministic=True, webhook_faults=("duplicate",)), transport, advance=1.0
    )
    assert len(seen) == 2
    assert seen[0].content == seen[1].content
    assert seen[0].headers["x-fal-webhook-signature"] == seen[1].headers["x-fal-webhook-signature"]
    assert [nacl_check(r.headers, r.content, jwks) for r in seen] == ["ok", "ok"]
    assert app.mock.stats()["webhook_deliveries"]["duplicates"] == 1


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "failure",
    [
        lambda n: httpx.Response(500),
        lambda n: httpx.Response(302),
        lambda n: httpx.ReadTimeout("slow receiver"),
    ],
    ids=["500", "302", "timeout"],
)
async def test_a_failed_delivery_is_retried_on_fals_schedule_then_delivered(failure):
    transport, seen = _receiver(lambda n: failure(n) if n <= 2 else httpx.Response(204))
    config = MockConfig(deterministic=True, webhook_retry_compression=1000.0)
    app, jwks, _ = await _run(config, transport, advance=1.0, rounds=4)
    assert len(seen) == 3
    assert all(nacl_check(r.headers, r.content, jwks) == "ok" for r in seen)  # every retry signed afresh
    stats = app.mock.stats()
    assert stats["webhooks"]["sent"] == 1 and stats["webhook_deliveries"]["retries"] == 2
    assert [d["attempt"] for d in app.mock.sender.deliveries] == [1, 2, 3]


@pytest.mark.asyncio
async def test_a_receiver_that_always_fails_gets_ten_retries_then_failed():
    transport, seen = _receiver(lambda n: httpx.Response(503))
    app, _jwks, _ = await _run(MockConfig(deterministic=True), transport, advance=10.0, rounds=14)
    assert len(seen) == 11  # the delivery and fal's 10 retries
    assert app.mock.stats()["webhooks"] == {"sent": 0, "failed": 1, "refused": 0}


def test_the_retry_schedule_is_fals_compressed_by_the_factor():
    delays = retry_delays()
    assert len(delays) == 10 and sum(delays) == pytest.approx(7200.0)  # 10 times in the span of 2 hours
    assert all(b == pytest.approx(2 * a) for a, b in itertools.pairwise(delays))
    config = MockConfig(webhook_retry_compression=100.0)
    app = create_app(config)
    assert sum(app.mock.sender._delays) == pytest.approx(72.0)
    with pytest.raises(ValueError, match="webhook_retry_compression"):
        MockConfig(webhook_retry_compression=0.5)
    with pytest.raises(ValueError, match="unknown webhook fault"):
        MockConfig(webhook_faults=("late",))


@pytest.mark.asyncio
async def test_retries_wait_in_real_time_too():
    """Not deterministic: the retry waits on the event loop (7 ms, then 14 ms at compression 1000)."""
    transport, seen = _receiver(lambda n: httpx.Response(500) if n == 1 else httpx.Response(200))
    app = create_app(MockConfig(), webhook_transport=transport)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers=FAL_AUTH
    ) as client:
        await client.post(f"/{T2I}", params={"fal_webhook": HOOK}, json={"prompt": "p"})
        for _ in range(200):
            await asyncio.sleep(0.01)
            if app.mock.stats()["webhooks"]["sent"]:
                break
    assert len(seen) == 2 and app.mock.stats()["webhooks"]["sent"] == 1


def test_webhook_key_from_a_pem_file(tmp_path: Path):
    path = tmp_path / "key.pem"
    signer = WebhookSigner.generate()
    path.write_bytes(signer.pem())
    app = create_app(MockConfig(webhook_key=str(path)))
    assert app.mock.signer.jwks() == signer.jwks()
    openssl = tmp_path / "openssl.pem"
    made = subprocess.run(
        ["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(openssl)], capture_output=True
    )
    if made.returncode == 0:  # the key format the docs name
        assert WebhookSigner.from_file(openssl).jwks()["keys"][0]["crv"] == "Ed25519"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a key", "expected an unencrypted PEM private key"),
        (b"x" * 20000, "larger than"),
        (None, "cannot read"),
    ],
)
def test_a_bad_webhook_key_file_is_named_and_its_content_never_shown(tmp_path: Path, content, message):
    path = tmp_path / "key.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as raised:
        create_app(MockConfig(webhook_key=str(path)))
    assert str(path) in str(raised.value) and "not a key" not in str(raised.value)


def test_an_rsa_key_is_refused(tmp_path: Path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    path = tmp_path / "rsa.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ValueError, match="not ED25519"):
        WebhookSigner.from_file(path)
