"""The mock's configuration: provider profile, key, timing, faults and limits."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..contract import providers

__all__ = [
    "DEFAULT_KEYS",
    "PROVIDERS",
    "WEBHOOK_FAULT_KINDS",
    "FaultConfig",
    "MockConfig",
    "MockConfigError",
    "default_key",
]

#: the webhook faults (``MockConfig.webhook_faults``, ``--webhook-fault``): a delivery signed over another
#: message, one whose timestamp is 600 s old (outside fal's ±300 s), one delivered twice with the same headers
WEBHOOK_FAULT_KINDS: tuple[str, ...] = ("bad-signature", "stale-timestamp", "duplicate")

#: The provider profiles when this module was imported: one per document in
#: ``openapi/providers/{name}.openapi.yaml`` (:func:`kontext_contract.contract.providers`, the one list).
PROVIDERS: tuple[str, ...] = providers()

#: The mock's own test keys, by auth scheme of the profile (``x-provider.auth.scheme``). These are not
#: secrets: the mock prints them on start.
DEFAULT_KEYS: dict[str, str] = {"Key": "mock-key-id:mock-key-secret", "Bearer": "mock-relay-key"}


def default_key(scheme: str) -> str:
    """The key the mock accepts by default for an Authorization scheme word: fal's ``id:secret`` form for
    ``Key``, the relay key for any other word (``Bearer``, or whatever a provider document states)."""
    return DEFAULT_KEYS["Key"] if scheme.lower() == "key" else DEFAULT_KEYS["Bearer"]


class MockConfigError(ValueError):
    """A setting of :class:`MockConfig` or :class:`FaultConfig` out of range.

    Attributes:
        field: the setting's name (``"queue_delay"``, ``"rate_429"``, ...); a command line maps it to its
            option (``kontext_contract.cli``).
        problem: what is wrong with its value (``"must be a finite number of seconds >= 0, got inf"``).
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


def _check_rate(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and 0.0 <= value <= 1.0):
        raise MockConfigError(name, f"must be a probability in [0, 1], got {value!r}")


@dataclass
class FaultConfig:
    """Faults injected into the contract's routes (never into ``/_mock/...``).

    Every rate is a probability in [0, 1] per request. One number ``u`` is drawn per request from
    ``random.Random(seed)`` and compared with the rates stacked in this order: drop, 502, 503, 504,
    429; the sum of the rates should therefore not exceed 1 (a sum above 1 only makes the last kinds
    rarer). Sources: docs/sources.md §3.2 (ingress errors, 429), docs/mock.md "Faults".

    Attributes:
        rate_429: 429 ``{"detail": ...}`` with ``Retry-After: retry_after`` (seconds) and x-fal-request-id.
        retry_after: the Retry-After value, seconds.
        rate_502, rate_503, rate_504: ingress-style errors: a ``text/html`` nginx page, no
            ``x-fal-request-id`` (fal_client retries these).
        rate_drop: close the connection without sending any response (over a real socket; in-process
            through httpx.ASGITransport the app returns without a response, which httpx reports as an error).
        seed: seed of the fault draws, so a run is reproducible.

    Raises:
        MockConfigError: (a ValueError) a rate outside [0, 1] or a negative retry_after.
    """

    rate_429: float = 0.0
    retry_after: int = 1
    rate_502: float = 0.0
    rate_503: float = 0.0
    rate_504: float = 0.0
    rate_drop: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("rate_429", "rate_502", "rate_503", "rate_504", "rate_drop"):
            _check_rate(name, getattr(self, name))
        if self.retry_after < 0:
            raise MockConfigError("retry_after", f"must be >= 0 seconds, got {self.retry_after!r}")

    @property
    def any(self) -> bool:
        """Whether any fault can happen at all."""
        return (self.rate_429 + self.rate_502 + self.rate_503 + self.rate_504 + self.rate_drop) > 0.0


@dataclass
class MockConfig:
    """How the mock behaves. Every field has a default fit for tests.

    Attributes:
        provider: the profile, one of :data:`PROVIDERS`; it selects the provider document whose
            ``info.x-provider`` facts (auth scheme, queue URLs, sync API, extra submit fields) the mock follows.
        key: the one key accepted. ``None``: :data:`DEFAULT_KEYS` for the profile's scheme
            (``mock-key-id:mock-key-secret`` for fal's ``Key``, ``mock-relay-key`` for relays' ``Bearer``).
            Never shown in a repr, a log line, a response or an exception.
        base_url: the URL the mock uses for itself in the URLs it returns (no trailing slash). ``None``:
            scheme and Host of each incoming request.
        queue_delay: seconds a request stays ``IN_QUEUE``.
        processing_delay: seconds it then stays ``IN_PROGRESS`` (also reported as ``inference_time``).
        deterministic: sequential request ids, a seeded sequence of random seeds, and a virtual clock
            that advances by ``clock_step`` on every request the mock handles (see docs/mock.md
            "Deterministic mode"), so tests see every queue state without sleeping.
        clock_step: seconds the virtual clock advances per handled request in deterministic mode.
        faults: what to inject (:class:`FaultConfig`).
        max_body_bytes: largest accepted request body, bytes; larger answers 413.
        request_ttl: seconds a finished request is kept; after that its URLs answer 404.
        max_requests: most requests kept at once; beyond it the oldest are evicted (memory bound).
        webhook_allow_hosts: host names or IP addresses webhooks may be sent to besides loopback.
        webhook_timeout: seconds one webhook POST may take.
        sse_ping_interval: seconds between ``: ping`` comments of the status stream (fal: about 15).
        webhook_key: a PEM file with the ED25519 private key that signs webhooks (default: a new key per
            start); its public key is served at ``/.well-known/jwks.json``.
        webhook_user_id: the ``X-Fal-Webhook-User-Id`` of every delivery.
        webhook_retry_compression: fal retries a failed delivery 10 times over 2 hours; the mock waits
            that schedule divided by this factor (1000: 7.2 seconds in all; 1: fal's own timing).
        webhook_faults: faults of every delivery, from :data:`~._faults.WEBHOOK_FAULTS`: ``bad-signature``,
            ``stale-timestamp``, ``duplicate``.
        max_upload_bytes: largest file accepted by the storage emulation, bytes.
        max_uploads: most uploaded files kept at once (the oldest are dropped first).
        max_upload_store_bytes: most bytes of uploaded files kept at once (the oldest are dropped first).

    Raises:
        MockConfigError: (a ValueError, naming the field) an unknown provider, a negative delay or limit,
            an unknown webhook fault.
    """

    provider: str = "fal"
    key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    queue_delay: float = 0.0
    processing_delay: float = 0.0
    deterministic: bool = False
    faults: FaultConfig = field(default_factory=FaultConfig)
    max_body_bytes: int = 32 * 1024 * 1024
    request_ttl: float = 600.0
    webhook_allow_hosts: tuple[str, ...] = ()
    clock_step: float = 0.1
    max_requests: int = 200_000
    webhook_timeout: float = 5.0
    sse_ping_interval: float = 15.0
    webhook_key: str | None = None
    webhook_user_id: str = "mock-user"
    webhook_retry_compression: float = 1000.0
    webhook_faults: tuple[str, ...] = ()
    max_upload_bytes: int = 32 * 1024 * 1024
    max_uploads: int = 256
    max_upload_store_bytes: int = 256 * 1024 * 1024

    def __post_init__(self) -> None:
        known = providers()
        if self.provider not in known:
            raise MockConfigError(
                "provider", f"is unknown: {self.provider!r}; expected one of {', '.join(known)}"
            )
        for name in ("queue_delay", "processing_delay", "request_ttl", "clock_step", "webhook_timeout"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise MockConfigError(name, f"must be a finite number of seconds >= 0, got {value!r}")
        if not (math.isfinite(self.sse_ping_interval) and self.sse_ping_interval > 0):
            raise MockConfigError("sse_ping_interval", f"must be > 0 seconds, got {self.sse_ping_interval!r}")
        if self.max_body_bytes < 0:
            raise MockConfigError("max_body_bytes", f"must be >= 0, got {self.max_body_bytes!r}")
        if self.max_requests < 1:
            raise MockConfigError("max_requests", f"must be >= 1, got {self.max_requests!r}")
        if self.base_url is not None:
            self.base_url = self.base_url.rstrip("/")
        self.webhook_allow_hosts = tuple(h.lower() for h in self.webhook_allow_hosts)
        if not (math.isfinite(self.webhook_retry_compression) and self.webhook_retry_compression >= 1):
            raise MockConfigError(
                "webhook_retry_compression",
                f"must be a finite factor >= 1, got {self.webhook_retry_compression!r}",
            )
        self.webhook_faults = tuple(self.webhook_faults)
        unknown = [f for f in self.webhook_faults if f not in WEBHOOK_FAULT_KINDS]
        if unknown:
            raise MockConfigError(
                "webhook_faults",
                f"has an unknown webhook fault {unknown[0]!r}; expected one of {', '.join(WEBHOOK_FAULT_KINDS)}",
            )
        for name in ("max_upload_bytes", "max_uploads", "max_upload_store_bytes"):
            if getattr(self, name) < 0:
                raise MockConfigError(name, f"must be >= 0, got {getattr(self, name)!r}")
        if any(ord(c) < 33 or ord(c) > 126 for c in self.webhook_user_id) or not self.webhook_user_id:
            raise MockConfigError(
                "webhook_user_id", f"must be printable ASCII without spaces, got {self.webhook_user_id!r}"
            )
