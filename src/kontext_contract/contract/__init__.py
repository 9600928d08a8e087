"""The contract model: the one reader of a built contract, for the client, the mock, the checks and the suite.

A bottom layer: it imports no consumer. Load a model with :meth:`ContractModel.load` (the project's
contract or a provider document) or :meth:`ContractModel.from_document`; ask it which operation is a
submit or a run, where the request operations are, which status code a queue state answers, what an
endpoint takes and returns, and what the provider's facts are. It also holds the one JSON Schema
validator factory (:class:`SchemaValidator`) and the one builder of fal's 422 ``detail`` list
(:func:`error_items`).
"""

from ._document import ContractError, load_document
from ._model import (
    ALREADY_COMPLETED,
    CANCEL_ANSWERS,
    CANCEL_OK,
    CANCELLATION_REQUESTED,
    COMPLETED,
    FLAG_SPELLINGS,
    IN_PROGRESS,
    IN_QUEUE,
    NOT_FOUND,
    PROVIDER_DEFAULTS,
    QUEUE_STATES,
    REQUEST_ROLES,
    ROLES,
    TERMINAL_STATES,
    URL_FIELDS,
    ContractModel,
    EndpointModel,
    Operation,
    Parameter,
    ProviderFacts,
    Response,
    Route,
)
from ._providers import providers
from ._validation import SchemaValidator, error_items, json_schema, pydantic_msg
from ._values import NoValue, value_for

__all__ = [
    "ALREADY_COMPLETED",
    "CANCELLATION_REQUESTED",
    "CANCEL_ANSWERS",
    "CANCEL_OK",
    "COMPLETED",
    "FLAG_SPELLINGS",
    "IN_PROGRESS",
    "IN_QUEUE",
    "NOT_FOUND",
    "PROVIDER_DEFAULTS",
    "QUEUE_STATES",
    "REQUEST_ROLES",
    "ROLES",
    "TERMINAL_STATES",
    "URL_FIELDS",
    "ContractError",
    "ContractModel",
    "EndpointModel",
    "NoValue",
    "Operation",
    "Parameter",
    "ProviderFacts",
    "Response",
    "Route",
    "SchemaValidator",
    "error_items",
    "json_schema",
    "load_document",
    "providers",
    "pydantic_msg",
    "value_for",
]
