"""fal's webhook signature scheme, written once for the mock (which signs) and the client (which verifies).

Source: fal's docs, "Webhooks" -> "Verifying Your Webhook" and "Retry policy"
(https://docs.fal.ai/model-apis/model-endpoints/webhooks; docs/sources.md §3.7):

- fal signs every delivery with ED25519; four headers carry what was signed: ``X-Fal-Webhook-Request-Id``,
  ``X-Fal-Webhook-User-Id``, ``X-Fal-Webhook-Timestamp`` (Unix seconds) and ``X-Fal-Webhook-Signature``
  (the 64-byte signature, hex);
- the signed message is ``request_id + "\\n" + user_id + "\\n" + timestamp + "\\n" + hex(sha256(body))``
  over the raw body bytes;
- a receiver accepts a timestamp within ±300 seconds of its clock;
- the public keys are a JWKS (RFC 7517; OKP keys of curve Ed25519, RFC 8037, ``x`` base64url) at
  ``https://rest.fal.ai/.well-known/jwks.json``, which may be cached for at most 24 hours;
- a delivery that fails is retried 10 times in the span of 2 hours.
"""

from __future__ import annotations

import base64
import hashlib
import json

__all__ = [
    "HEADER_REQUEST_ID",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "HEADER_USER_ID",
    "JWKS_MAX_AGE",
    "JWKS_PATH",
    "JWKS_URL",
    "RETRIES",
    "RETRY_SPAN",
    "TOLERANCE",
    "b64url_decode",
    "b64url_encode",
    "jwk_thumbprint",
    "retry_delays",
    "signed_message",
]

HEADER_REQUEST_ID = "X-Fal-Webhook-Request-Id"
HEADER_USER_ID = "X-Fal-Webhook-User-Id"
HEADER_TIMESTAMP = "X-Fal-Webhook-Timestamp"
HEADER_SIGNATURE = "X-Fal-Webhook-Signature"
#: seconds a timestamp may differ from the receiver's clock, either way
TOLERANCE = 300
#: where fal publishes its webhook keys, and the path of that URL (the mock serves its own key there)
JWKS_URL = "https://rest.fal.ai/.well-known/jwks.json"
JWKS_PATH = "/.well-known/jwks.json"
#: the longest a receiver may keep the JWKS, seconds (24 hours)
JWKS_MAX_AGE = 24 * 3600.0
#: how many times a failed delivery is retried, and over how many seconds
RETRIES = 10
RETRY_SPAN = 2 * 3600.0


def signed_message(request_id: str, user_id: str, timestamp: str, body: bytes) -> bytes:
    """The bytes fal signs: the three header values and the hex SHA-256 of the raw body, one per line."""
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((request_id, user_id, timestamp, digest)).encode("utf-8")


def retry_delays(span: float = RETRY_SPAN, retries: int = RETRIES) -> list[float]:
    """Seconds to wait before each retry: doubling, the ``retries`` waits adding up to ``span``. fal states the
    count and the span only ("10 times in the span of 2 hours"); doubling is the mock's choice (7 s, 14 s,
    28 s, ... 1 h)."""
    unit = span / (2**retries - 1)
    return [unit * 2**k for k in range(retries)]


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """base64url with or without padding.

    Raises:
        ValueError: not base64url.
    """
    if not isinstance(text, str) or not text.isascii() or any(c in text for c in "+/ \n\r\t"):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwk_thumbprint(x: str) -> str:
    """The RFC 7638 thumbprint of an Ed25519 OKP key (base64url SHA-256 of its canonical JSON), used as ``kid``."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode()).digest())
