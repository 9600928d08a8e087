"""The mock's webhook key: an ED25519 key of its own that signs every delivery the way fal does
(:mod:`kontext_contract._webhook_scheme`), and the JWKS it serves at ``/.well-known/jwks.json``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .._webhook_scheme import (
    HEADER_REQUEST_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    HEADER_USER_ID,
    TOLERANCE,
    b64url_encode,
    jwk_thumbprint,
    signed_message,
)

__all__ = ["MAX_KEY_FILE_BYTES", "WebhookSigner"]

#: the largest --webhook-key file read, bytes (a PEM ED25519 key is about 120)
MAX_KEY_FILE_BYTES = 16 * 1024


class WebhookSigner:
    """Signs webhook deliveries with one ED25519 key.

    Args:
        key: the private key.
        user_id: the ``X-Fal-Webhook-User-Id`` of every delivery (fal: the account's user id).
    """

    def __init__(self, key: Ed25519PrivateKey, *, user_id: str = "mock-user") -> None:
        self._key = key
        self.user_id = user_id
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.x = b64url_encode(raw)
        self.kid = jwk_thumbprint(self.x)

    def __repr__(self) -> str:
        return f"WebhookSigner(kid={self.kid!r}, user_id={self.user_id!r})"

    @classmethod
    def generate(cls, *, user_id: str = "mock-user") -> WebhookSigner:
        """A new random key (the mock's default: one per start)."""
        return cls(Ed25519PrivateKey.generate(), user_id=user_id)

    @classmethod
    def from_file(cls, path: str | Path, *, user_id: str = "mock-user") -> WebhookSigner:
        """The key of a PEM file (PKCS#8 ``-----BEGIN PRIVATE KEY-----``, unencrypted), e.g. made with
        ``openssl genpkey -algorithm ed25519``, at most :data:`MAX_KEY_FILE_BYTES`.

        Raises:
            ValueError: the file cannot be read, is too large, or holds no unencrypted ED25519 private key
                (the message names the file, never its content).
        """
        where = str(path)
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_KEY_FILE_BYTES + 1)
        except OSError as exc:
            raise ValueError(
                f"{where}: cannot read the webhook key: {exc.strerror or type(exc).__name__}"
            ) from None
        if len(data) > MAX_KEY_FILE_BYTES:
            raise ValueError(f"{where}: larger than {MAX_KEY_FILE_BYTES} bytes: not a PEM ED25519 key")
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ValueError(
                f"{where}: expected an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----), "
                "e.g. from `openssl genpkey -algorithm ed25519`"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(
                f"{where}: the key is {type(key).__name__.removesuffix('PrivateKey')}, not ED25519"
            )
        return cls(key, user_id=user_id)

    def pem(self) -> bytes:
        """The private key as PKCS#8 PEM (for ``--webhook-key``)."""
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def jwks(self) -> dict[str, Any]:
        """The JWKS of the public key: one OKP key, curve Ed25519, ``kid`` its RFC 7638 thumbprint."""
        return {
            "keys": [
                {"kty": "OKP", "crv": "Ed25519", "x": self.x, "kid": self.kid, "alg": "EdDSA", "use": "sig"}
            ]
        }

    def headers(
        self, request_id: str, body: bytes, *, now: float | None = None, fault: str | None = None
    ) -> dict[str, str]:
        """The four signature headers of one delivery of ``body``.

        Args:
            request_id: the request's id.
            body: the exact bytes POSTed.
            now: Unix time, seconds (default: ``time.time()``; webhook timestamps are wall-clock time in
                every mode, since receivers compare them with theirs).
            fault: ``"bad-signature"`` (signed over another body), ``"stale-timestamp"`` (twice the
                tolerance in the past, correctly signed), or None.
        """
        t = int(time.time() if now is None else now)
        if fault == "stale-timestamp":
            t -= 2 * TOLERANCE
        timestamp = str(t)
        signed = body + b" " if fault == "bad-signature" else body
        signature = self._key.sign(signed_message(request_id, self.user_id, timestamp, signed))
        return {
            HEADER_REQUEST_ID: request_id,
            HEADER_USER_ID: self.user_id,
            HEADER_TIMESTAMP: timestamp,
            HEADER_SIGNATURE: signature.hex(),
        }
