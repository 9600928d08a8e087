"""The client people use: fal's queue flow on the generated models, for fal and for relays, sync and async.

    from kontext_contract.client import Client, Endpoint, Provider

    with Client(Provider.fal()) as client:                      # FAL_KEY from the environment
        out = client.subscribe(Endpoint.KONTEXT_TEXT_TO_IMAGE, {"prompt": "a red fox"})
        client.save_image(out.images[0], "fox.jpg")

Everything public is re-exported here; the modules behind it (``_client``, ``_async_client``,
``_providers``, ``_retry``, ``_errors``, ``_images``, ``_endpoints``, ``_validation``, ``_sse``,
``_core``, ``_webhooks``, ``_journal``) are private. See docs/client.md.
"""

from kontext_api.models import (
    GeneratedImage,
    ImageFile,
    KontextEditInput,
    KontextEditOutput,
    KontextMultiInput,
    KontextOutput,
    KontextTextToImageInput,
    LogEntry,
    QueueStatusCompleted,
    QueueStatusInProgress,
    QueueStatusInQueue,
)

from ._async_client import AsyncClient, AsyncRequestHandle
from ._client import Client, RequestHandle
from ._core import Polling, QueueOptions, QueueStatus, Timeouts
from ._endpoints import EditEndpointId, Endpoint, EndpointId, EndpointInfo, Output, OutputEndpointId, catalog
from ._errors import (
    AmbiguousSubmitError,
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ContentPolicyViolationError,
    ImageContentError,
    JournalError,
    KontextError,
    MissingCredentialsError,
    NotCompletedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ProviderIncompatibleError,
    RateLimitError,
    RequestFailedError,
    RequestTimeoutError,
    RetriesExhausted,
    ServiceUnavailableError,
    UnreachableError,
    ValidationError,
    WaitTimeoutError,
)
from ._images import check_image_bytes, decode_data_uri, image_content_type, to_data_uri
from ._journal import Entry, Intent, Journal, JournalBackend, canonical_digest, default_journal_path
from ._providers import MOCK_FAL_KEY, MOCK_RELAY_KEY, ForeignUrlPolicy, Provider, Secret
from ._retry import RetryNotice, RetryPolicy
from ._webhooks import (
    JWKSCache,
    JWKSError,
    VerifiedWebhook,
    WebhookVerificationError,
    averify_webhook,
    check_webhook,
    parse_jwks,
    verify_webhook,
)

__all__ = [
    "MOCK_FAL_KEY",
    "MOCK_RELAY_KEY",
    "APIConnectionError",
    "APIStatusError",
    "AmbiguousSubmitError",
    "AsyncClient",
    "AsyncRequestHandle",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConfigurationError",
    "ContentPolicyViolationError",
    "EditEndpointId",
    "Endpoint",
    "EndpointId",
    "EndpointInfo",
    "Entry",
    "ForeignUrlPolicy",
    "GeneratedImage",
    "ImageContentError",
    "ImageFile",
    "Intent",
    "JWKSCache",
    "JWKSError",
    "Journal",
    "JournalBackend",
    "JournalError",
    "KontextEditInput",
    "KontextEditOutput",
    "KontextError",
    "KontextMultiInput",
    "KontextOutput",
    "KontextTextToImageInput",
    "LogEntry",
    "MissingCredentialsError",
    "NotCompletedError",
    "NotFoundError",
    "Output",
    "OutputEndpointId",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Polling",
    "Provider",
    "ProviderIncompatibleError",
    "QueueOptions",
    "QueueStatus",
    "QueueStatusCompleted",
    "QueueStatusInProgress",
    "QueueStatusInQueue",
    "RateLimitError",
    "RequestFailedError",
    "RequestHandle",
    "RequestTimeoutError",
    "RetriesExhausted",
    "RetryNotice",
    "RetryPolicy",
    "Secret",
    "ServiceUnavailableError",
    "Timeouts",
    "UnreachableError",
    "ValidationError",
    "VerifiedWebhook",
    "WaitTimeoutError",
    "WebhookVerificationError",
    "averify_webhook",
    "canonical_digest",
    "catalog",
    "check_image_bytes",
    "check_webhook",
    "decode_data_uri",
    "default_journal_path",
    "image_content_type",
    "parse_jwks",
    "to_data_uri",
    "verify_webhook",
]
