"""Verifying fal's webhooks: the signature scheme of fal's docs, "Verifying Your Webhook"
(https://docs.fal.ai/model-apis/model-endpoints/webhooks; docs/sources.md §3.7), and the keys of fal's
JWKS, cached.

    from kontext_contract.client import JWKSCache, WebhookVerificationError, verify_webhook

    keys = JWKSCache()                                   # fal's JWKS, fetched when needed, kept <= 24 h
    try:
        hook = verify_webhook(request.headers, raw_body, jwks=keys)
    except WebhookVerificationError as exc:
        return 401, exc.reason
    hook.output                                          # the contract's output model when hook.ok

The checks are sans-IO (:func:`check_webhook`); only the JWKS fetch does I/O, once per TTL, in
:class:`JWKSCache` (sync :meth:`JWKSCache.keys`, async :meth:`JWKSCache.akeys`).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .._webhook_scheme import (
    HEADER_REQUEST_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    HEADER_USER_ID,
    JWKS_MAX_AGE,
    JWKS_URL,
    TOLERANCE,
    b64url_decode,
    signed_message,
)
from ._endpoints import _generated, catalog
from ._errors import KontextError

__all__ = [
    "JWKSCache",
    "JWKSError",
    "VerifiedWebhook",
    "WebhookVerificationError",
    "averify_webhook",
    "check_webhook",
    "parse_jwks",
    "verify_webhook",
]

#: the reasons of :class:`WebhookVerificationError`
REASONS = (
    "missing_header",
    "bad_timestamp",
    "stale_timestamp",
    "future_timestamp",
    "bad_hex",
    "unknown_key",
    "bad_signature",
    "not_json",
    "bad_payload",
    "request_id_mismatch",
)
#: the largest webhook body verified, bytes (fal's payloads are model outputs: URLs, not images)
MAX_BODY_BYTES = 16 * 1024 * 1024
#: the most keys of a JWKS kept (the rest are ignored)
MAX_KEYS = 16


class WebhookVerificationError(KontextError):
    """A webhook that is not fal's, or not as fal sends it. Answer it with 401/400 and do not act on it.

    Attributes:
        reason: one of :data:`REASONS`: ``missing_header`` (one of the four ``X-Fal-Webhook-*`` headers is
            absent or empty), ``bad_timestamp`` (not Unix seconds), ``stale_timestamp`` / ``future_timestamp``
            (more than ``tolerance`` seconds from now), ``bad_hex`` (the signature is not 128 hex digits),
            ``unknown_key`` (the JWKS has no ED25519 key to verify with), ``bad_signature`` (no key of the
            JWKS verifies it), ``not_json`` (the signed body is not JSON), ``bad_payload`` (JSON, but not the
            contract's webhook body), ``request_id_mismatch`` (the body names another request than the
            signed header).
    """

    def __init__(self, reason: str, message: str, *, request_id: str | None = None) -> None:
        super().__init__(f"webhook rejected ({reason}): {message}", request_id=request_id)
        self.reason = reason


class JWKSError(KontextError):
    """The JWKS could not be had: unreachable, too slow, too large, or not a JWKS. The webhook itself may
    be fine: answer 5xx so that fal retries it (docs/sources.md §3.7).

    Attributes:
        reason: ``unavailable`` (no answer, or not 200), ``timeout``, ``too_large``, ``malformed``.
    """

    def __init__(self, reason: str, message: str, *, status_code: int | None = None) -> None:
        super().__init__(f"JWKS {reason}: {message}", status_code=status_code)
        self.reason = reason


@dataclass(frozen=True)
class VerifiedWebhook:
    """A webhook whose signature, timestamp and body were checked.

    Attributes:
        request_id: the queue request id (header and body agree).
        user_id: ``X-Fal-Webhook-User-Id``.
        timestamp: ``X-Fal-Webhook-Timestamp``, Unix seconds.
        body: the body as the contract's webhook model (the generated ``WebhookPayload``).
        output: when ``ok``, the payload parsed with the endpoint's output model (e.g. ``KontextOutput``);
            else None.
        payload: the payload as JSON (the error body when status is ERROR).
        error: the body's ``error`` (status ERROR), else None.
    """

    request_id: str
    user_id: str
    timestamp: int
    body: Any = field(repr=False)
    output: Any
    payload: Any = field(repr=False)
    error: str | None

    @property
    def status(self) -> str:
        """``OK`` or ``ERROR``."""
        return str(self.body.status)

    @property
    def ok(self) -> bool:
        return self.status == "OK"


def _header(headers: Mapping[str, str] | Iterable[tuple[str, str]], name: str) -> str | None:
    items = headers.items() if isinstance(headers, Mapping) else headers
    wanted = name.lower()
    for key, value in items:
        if str(key).lower() == wanted:
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            return text.strip() or None
    return None


def parse_jwks(data: bytes | str | Mapping[str, Any], *, max_keys: int = MAX_KEYS) -> list[Ed25519PublicKey]:
    """The ED25519 public keys of a JWKS (RFC 7517 ``{"keys": [...]}``; OKP keys of curve Ed25519, RFC 8037,
    ``x`` base64url of 32 bytes). Keys of other types are skipped; at most ``max_keys`` are kept.

    Raises:
        JWKSError: ``malformed``: not JSON, not an object with a ``keys`` list, or an Ed25519 key whose ``x``
            is not 32 bytes of base64url.
    """
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            raise JWKSError("malformed", "the answer is not JSON") from None
    keys = data.get("keys") if isinstance(data, Mapping) else None
    if not isinstance(keys, list):
        raise JWKSError("malformed", 'expected an object with a "keys" list')
    out: list[Ed25519PublicKey] = []
    for i, jwk in enumerate(keys):
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        try:
            raw = b64url_decode(jwk.get("x"))  # type: ignore[arg-type]  # checked inside
            if len(raw) != 32:
                raise ValueError("not 32 bytes")
            out.append(Ed25519PublicKey.from_public_bytes(raw))
        except (ValueError, TypeError):
            raise JWKSError("malformed", f"keys[{i}].x is not 32 bytes of base64url (RFC 8037)") from None
        if len(out) >= max_keys:
            break
    return out


class JWKSCache:
    """fal's webhook keys (or another JWKS URL's), fetched when first needed and kept for ``ttl`` seconds.

    No API key is sent or needed. Every answer is bounded: at most ``max_bytes`` read, at most ``timeout``
    seconds (async: the whole fetch; sync: each read, and the fetch is abandoned once ``timeout`` has passed
    between reads), at most :data:`MAX_KEYS` keys. Thread-safe; a failed fetch keeps the keys already held
    until they expire.

    Key rotation: when no held key verifies a webhook's signature, :func:`verify_webhook` asks the cache once
    for fresh keys (:meth:`keys` with ``refresh=True``), so a key fal has just rotated in is accepted at once
    instead of after ``ttl``. A refresh is made at most once per ``refresh_interval`` seconds, so forged
    webhooks cannot make the cache fetch more often than that.

    Args:
        url: the JWKS URL (default fal's, ``https://rest.fal.ai/.well-known/jwks.json``).
        ttl: seconds the keys are kept; at most 24 hours (fal: cache for at most 24 h, docs/sources.md §3.7).
        refresh_interval: the fewest seconds between two fetches asked for by a signature no held key
            verifies (default 60).
        max_bytes: the largest answer read, bytes.
        timeout: seconds, see above.
        transport / async_transport: httpx transports (tests; default: the network).
        clock: a monotonic clock, seconds (tests).

    Raises:
        ValueError: ``ttl`` outside (0, 86400], ``max_bytes``, ``timeout`` or ``refresh_interval`` not
            positive.
    """

    def __init__(
        self,
        url: str = JWKS_URL,
        *,
        ttl: float = JWKS_MAX_AGE,
        max_bytes: int = 64 * 1024,
        timeout: float = 10.0,
        refresh_interval: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        if not (0 < ttl <= JWKS_MAX_AGE):
            raise ValueError(f"ttl must be in (0, {JWKS_MAX_AGE:g}] seconds (fal: at most 24 h), got {ttl!r}")
        if max_bytes <= 0 or not (math.isfinite(timeout) and timeout > 0):
            raise ValueError("max_bytes and timeout must be positive")
        if not (math.isfinite(refresh_interval) and refresh_interval > 0):
            raise ValueError(f"refresh_interval must be positive seconds, got {refresh_interval!r}")
        self.refresh_interval = refresh_interval
        self.url = url
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._transport = transport
        self._async_transport = async_transport
        self._clock = clock
        self._keys: list[Ed25519PublicKey] | None = None
        self._fetched = -math.inf
        self._lock = threading.Lock()
        self.fetches = 0

    def __repr__(self) -> str:
        return f"JWKSCache({self.url!r}, ttl={self.ttl:g})"

    def _fresh(self) -> list[Ed25519PublicKey] | None:
        if self._keys is not None and self._clock() - self._fetched < self.ttl:
            return self._keys
        return None

    def _store(self, data: bytes) -> list[Ed25519PublicKey]:
        keys = parse_jwks(data)
        self._keys, self._fetched = keys, self._clock()
        return keys

    def _check(self, response: httpx.Response) -> None:
        if response.status_code != 200:
            raise JWKSError(
                "unavailable", f"{self.url} answered {response.status_code}", status_code=response.status_code
            )
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise JWKSError("too_large", f"{self.url} announces {length} bytes, more than {self.max_bytes}")

    def _too_large(self) -> JWKSError:
        return JWKSError("too_large", f"{self.url} sent more than {self.max_bytes} bytes")

    def may_refresh(self) -> bool:
        """Whether a refresh (``keys(refresh=True)``) would fetch now: the last fetch was at least
        ``refresh_interval`` seconds ago."""
        return bool(self._clock() - self._fetched >= self.refresh_interval)

    def _held(self, refresh: bool) -> list[Ed25519PublicKey] | None:
        if refresh and not self.may_refresh():
            return self._keys if self._keys is not None else self._fresh()
        return None if refresh else self._fresh()

    def keys(self, *, refresh: bool = False) -> list[Ed25519PublicKey]:
        """The keys, fetched if none are held or they are older than ``ttl``.

        Args:
            refresh: fetch even if the keys held are fresh (a signature none of them verifies: fal may
                have rotated its key), unless the last fetch was less than ``refresh_interval`` ago.

        Raises:
            JWKSError: the fetch failed and no keys are held.
        """
        with self._lock:
            held = self._held(refresh)
            if held is not None:
                return held
            try:
                return self._store(self._fetch())
            except JWKSError:
                if refresh and self._keys is not None:
                    self._fetched = self._clock()  # a failed refresh waits refresh_interval too
                    return self._keys
                raise

    def _fetch(self) -> bytes:
        self.fetches += 1
        deadline = time.monotonic() + self.timeout
        chunks: list[bytes] = []
        size = 0
        try:
            with (
                httpx.Client(transport=self._transport, timeout=self.timeout, trust_env=False) as client,
                client.stream("GET", self.url, headers={"accept": "application/json"}) as response,
            ):
                self._check(response)
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise self._too_large()
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise JWKSError("timeout", f"{self.url} took more than {self.timeout:g} s")
        except httpx.TimeoutException:
            raise JWKSError("timeout", f"{self.url} took more than {self.timeout:g} s") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise JWKSError("unavailable", f"{self.url}: {type(exc).__name__}") from None
        return b"".join(chunks)

    async def akeys(self, *, refresh: bool = False) -> list[Ed25519PublicKey]:
        """The async twin of :meth:`keys` (the whole fetch within ``timeout``).

        Raises:
            JWKSError: the fetch failed and no keys are held.
        """
        held = self._held(refresh)
        if held is not None:
            return held
        try:
            data = await self._afetch()
        except JWKSError:
            if refresh and self._keys is not None:
                self._fetched = self._clock()
                return self._keys
            raise
        with self._lock:
            return self._store(data)

    async def _afetch(self) -> bytes:
        self.fetches += 1
        chunks: list[bytes] = []
        size = 0
        try:
            with anyio.fail_after(self.timeout):
                async with (
                    httpx.AsyncClient(
                        transport=self._async_transport, timeout=self.timeout, trust_env=False
                    ) as client,
                    client.stream("GET", self.url, headers={"accept": "application/json"}) as response,
                ):
                    self._check(response)
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > self.max_bytes:
                            raise self._too_large()
                        chunks.append(chunk)
        except (TimeoutError, httpx.TimeoutException):
            raise JWKSError("timeout", f"{self.url} took more than {self.timeout:g} s") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise JWKSError("unavailable", f"{self.url}: {type(exc).__name__}") from None
        return b"".join(chunks)


_default_cache: JWKSCache | None = None
#: the refusals a key fal rotated in since the keys were fetched would cause: the cache is asked once for
#: fresh keys (at most once per its refresh_interval) before the webhook is refused
_ROTATION_REASONS = frozenset({"bad_signature", "unknown_key"})


def _default() -> JWKSCache:
    global _default_cache
    if _default_cache is None:
        _default_cache = JWKSCache()
    return _default_cache


Keys = JWKSCache | Mapping[str, Any] | Iterable[Ed25519PublicKey] | None


def _static_keys(jwks: Keys) -> list[Ed25519PublicKey] | None:
    if isinstance(jwks, Mapping):
        return parse_jwks(jwks)
    if jwks is None or isinstance(jwks, JWKSCache):
        return None
    return list(jwks)


def check_webhook(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes,
    keys: list[Ed25519PublicKey],
    *,
    now: float | None = None,
    tolerance: float = TOLERANCE,
    endpoint: str | None = None,
) -> VerifiedWebhook:
    """The sans-IO core of :func:`verify_webhook`, with the keys at hand.

    Raises:
        WebhookVerificationError: see :func:`verify_webhook`.
    """
    names = (HEADER_REQUEST_ID, HEADER_USER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE)
    values = {name: _header(headers, name) for name in names}
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise WebhookVerificationError("missing_header", f"no {', '.join(missing)} header")
    request_id, user_id, timestamp, signature = (str(values[n]) for n in names)
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise WebhookVerificationError(
            "bad_timestamp", f"{HEADER_TIMESTAMP} is not Unix seconds", request_id=request_id
        )
    skew = int(timestamp) - (time.time() if now is None else now)
    if skew < -tolerance:
        raise WebhookVerificationError(
            "stale_timestamp", f"signed {-skew:.0f} s ago, more than {tolerance:g} s", request_id=request_id
        )
    if skew > tolerance:
        raise WebhookVerificationError(
            "future_timestamp",
            f"signed {skew:.0f} s in the future, more than {tolerance:g} s",
            request_id=request_id,
        )
    try:
        raw_signature = bytes.fromhex(signature)
    except ValueError:
        raw_signature = b""
    if len(raw_signature) != 64 or not signature.isascii():
        raise WebhookVerificationError(
            "bad_hex",
            f"{HEADER_SIGNATURE} is not 128 hex digits (an ED25519 signature)",
            request_id=request_id,
        )
    if not keys:
        raise WebhookVerificationError("unknown_key", "the JWKS holds no ED25519 key", request_id=request_id)
    if len(body) > MAX_BODY_BYTES:
        raise WebhookVerificationError(
            "bad_payload", f"the body is larger than {MAX_BODY_BYTES} bytes", request_id=request_id
        )
    message = signed_message(request_id, user_id, timestamp, body)
    for key in keys[:MAX_KEYS]:
        try:
            key.verify(raw_signature, message)
            break
        except InvalidSignature:
            continue
    else:
        raise WebhookVerificationError(
            "bad_signature", "no key of the JWKS verifies the signature", request_id=request_id
        )
    return _parse(body, request_id, user_id, int(timestamp), endpoint)


def _parse(
    body: bytes, request_id: str, user_id: str, timestamp: int, endpoint: str | None
) -> VerifiedWebhook:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise WebhookVerificationError(
            "not_json", "the signed body is not JSON", request_id=request_id
        ) from None
    found = catalog()
    endpoints = [found.get(endpoint)] if endpoint is not None else list(found.endpoints.values())
    schema_name = endpoints[0].model.submit.callback_body_schema_name if endpoints else None
    if schema_name is None:
        raise WebhookVerificationError(
            "bad_payload", "the contract states no webhook body", request_id=request_id
        )
    validator = found.model.validator({"$ref": f"#/components/schemas/{schema_name}"})
    if not validator.is_valid(data):
        raise WebhookVerificationError(
            "bad_payload", f"the body is not the contract's {schema_name}", request_id=request_id
        )
    model = _generated(schema_name, "the webhook body").from_dict(data)
    if model.request_id != request_id:
        raise WebhookVerificationError(
            "request_id_mismatch",
            f"the body is about request {str(model.request_id)[:64]!r}, the signed header about {request_id!r}",
            request_id=request_id,
        )
    payload = data.get("payload") if isinstance(data, dict) else None
    output = None
    if str(model.status) == "OK" and isinstance(payload, dict):
        for info in endpoints:
            if found.model.validator({"$ref": f"#/components/schemas/{info.output_schema}"}).is_valid(
                payload
            ):
                output = info.output_model.from_dict(payload)
                break
        else:
            raise WebhookVerificationError(
                "bad_payload",
                f"status OK, but the payload is not the output of {endpoint or 'any endpoint of the contract'}",
                request_id=request_id,
            )
    error = data.get("error") if isinstance(data, dict) else None
    return VerifiedWebhook(
        request_id=request_id,
        user_id=user_id,
        timestamp=timestamp,
        body=model,
        output=output,
        payload=payload,
        error=error if isinstance(error, str) else None,
    )


def verify_webhook(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes,
    *,
    jwks: Keys = None,
    now: float | None = None,
    tolerance: float = TOLERANCE,
    endpoint: str | None = None,
) -> VerifiedWebhook:
    """Verify a webhook as fal's docs say ("Verifying Your Webhook", docs/sources.md §3.7) and parse it.

    Args:
        headers: the request's headers (any mapping or (name, value) pairs; names in any case).
        body: the raw body bytes, exactly as received (not re-serialized JSON).
        jwks: where the keys come from: a :class:`JWKSCache` (default: one shared cache of fal's JWKS), a
            JWKS as a mapping, or ED25519 public keys.
        now: Unix time, seconds, to compare the timestamp with (default: ``time.time()``).
        tolerance: seconds the timestamp may differ from ``now``, either way (fal: 300).
        endpoint: the endpoint id the request was submitted to; the OK payload is parsed with its output
            model. None: with the first output model of the contract whose schema the payload matches.

    Returns:
        The :class:`VerifiedWebhook`: its ``body`` the contract's webhook model, its ``output`` the
        endpoint's output model when the status is OK.

    Raises:
        WebhookVerificationError: with its ``reason`` (see the class).
        JWKSError: the keys could not be fetched (answer 5xx: fal retries).
    """
    keys = _static_keys(jwks)
    if keys is not None:
        return check_webhook(headers, body, keys, now=now, tolerance=tolerance, endpoint=endpoint)
    cache = jwks if isinstance(jwks, JWKSCache) else _default()
    try:
        return check_webhook(headers, body, cache.keys(), now=now, tolerance=tolerance, endpoint=endpoint)
    except WebhookVerificationError as exc:
        if exc.reason not in _ROTATION_REASONS or not cache.may_refresh():
            raise
        fresh = cache.keys(refresh=True)  # fal may have rotated its key since the keys were fetched
    return check_webhook(headers, body, fresh, now=now, tolerance=tolerance, endpoint=endpoint)


async def averify_webhook(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes,
    *,
    jwks: Keys = None,
    now: float | None = None,
    tolerance: float = TOLERANCE,
    endpoint: str | None = None,
) -> VerifiedWebhook:
    """The async twin of :func:`verify_webhook` (the JWKS fetched with :meth:`JWKSCache.akeys`).

    Raises:
        WebhookVerificationError: with its ``reason``.
        JWKSError: the keys could not be fetched.
    """
    keys = _static_keys(jwks)
    if keys is not None:
        return check_webhook(headers, body, keys, now=now, tolerance=tolerance, endpoint=endpoint)
    cache = jwks if isinstance(jwks, JWKSCache) else _default()
    try:
        return check_webhook(
            headers, body, await cache.akeys(), now=now, tolerance=tolerance, endpoint=endpoint
        )
    except WebhookVerificationError as exc:
        if exc.reason not in _ROTATION_REASONS or not cache.may_refresh():
            raise
        fresh = await cache.akeys(refresh=True)
    return check_webhook(headers, body, fresh, now=now, tolerance=tolerance, endpoint=endpoint)
