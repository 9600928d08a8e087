"""An independent verifier of fal's webhook scheme, written from fal's docs ("Verifying Your Webhook",
https://docs.fal.ai/model-apis/model-endpoints/webhooks) with PyNaCl (libsodium), sharing no code with the
mock or the client: the mock's deliveries must pass it, and each webhook fault must fail it."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Mapping
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey


def nacl_check(
    headers: Mapping[str, str], body: bytes, jwks: dict[str, Any], now: float | None = None
) -> str:
    """``"ok"``, or why the delivery fails fal's scheme: ``headers``, ``timestamp``, ``signature``."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        request_id = lower["x-fal-webhook-request-id"]
        user_id = lower["x-fal-webhook-user-id"]
        timestamp = lower["x-fal-webhook-timestamp"]
        signature = bytes.fromhex(lower["x-fal-webhook-signature"])
    except (KeyError, ValueError):
        return "headers"
    if abs(int(timestamp) - (time.time() if now is None else now)) > 300:
        return "timestamp"
    message = f"{request_id}\n{user_id}\n{timestamp}\n{hashlib.sha256(body).hexdigest()}".encode()
    for jwk in jwks["keys"]:
        raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
        try:
            VerifyKey(raw).verify(message, signature)
            return "ok"
        except BadSignatureError:
            continue
    return "signature"
