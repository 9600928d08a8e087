"""The response headers of fal's answers that the client interprets (docs/sources.md §3.2), by the names the
contract gives them: the components ``RequestIdHeader`` (``x-fal-request-id``), ``ErrorType``
(``X-Fal-Error-Type``), ``Retryable`` (``X-Fal-Retryable``), ``RequestTimeoutType``
(``X-Fal-Request-Timeout-Type``) and ``RetryAfter`` (``Retry-After``) of ``$.components.headers``. A contract
that renames one (an overlay) renames it for the retry rules and the errors too.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..contract import ContractModel

__all__ = ["HEADER_COMPONENTS", "default_header_names", "header_names"]

#: the response header components the client reads, in ``$.components.headers`` of the contract
HEADER_COMPONENTS = ("RequestIdHeader", "ErrorType", "Retryable", "RequestTimeoutType", "RetryAfter")
#: HTTP's own name for Retry-After (RFC 9110 §10.2.3), read when a contract declares none
_HTTP_RETRY_AFTER = "retry-after"


def header_names(model: ContractModel) -> dict[str, str]:
    """Component -> the lower-case header name the contract's responses declare it under; a component no
    response declares is left out (``RetryAfter`` then falls back to HTTP's ``retry-after``)."""
    names = {c: n for c in HEADER_COMPONENTS if (n := model.find_header_name(c)) is not None}
    names.setdefault("RetryAfter", _HTTP_RETRY_AFTER)
    return names


@functools.cache
def default_header_names() -> Mapping[str, str]:
    """:func:`header_names` of the contract this package ships (for errors and retry rules built without a
    client, e.g. in a user's tests). Read once.

    Raises:
        ConfigurationError: the shipped contract cannot be found or read.
    """
    from ._endpoints import catalog

    return MappingProxyType(header_names(catalog().model))
