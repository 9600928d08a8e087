from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_detail import ErrorDetail
from ...models.infrastructure_error import InfrastructureError
from ...models.kontext_edit_input import KontextEditInput
from ...models.no_retry import NoRetry
from ...models.queue_priority import QueuePriority
from ...models.queue_status_in_queue import QueueStatusInQueue
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: KontextEditInput,
    fal_webhook: str | Unset = UNSET,
    x_fal_request_timeout: float | Unset = UNSET,
    x_fal_queue_priority: QueuePriority | Unset = UNSET,
    x_fal_runner_hint: str | Unset = UNSET,
    x_fal_no_retry: NoRetry | Unset = UNSET,
    x_fal_object_lifecycle_preference: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_fal_request_timeout, Unset):
        headers["X-Fal-Request-Timeout"] = str(x_fal_request_timeout)

    if not isinstance(x_fal_queue_priority, Unset):
        headers["X-Fal-Queue-Priority"] = str(x_fal_queue_priority)

    if not isinstance(x_fal_runner_hint, Unset):
        headers["X-Fal-Runner-Hint"] = x_fal_runner_hint

    if not isinstance(x_fal_no_retry, Unset):
        headers["x-fal-no-retry"] = str(x_fal_no_retry)

    if not isinstance(x_fal_object_lifecycle_preference, Unset):
        headers["X-Fal-Object-Lifecycle-Preference"] = x_fal_object_lifecycle_preference

    params: dict[str, Any] = {}

    params["fal_webhook"] = fal_webhook

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/fal-ai/flux-pro/kontext/max",
        "params": params,
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorDetail | InfrastructureError | QueueStatusInQueue | None:
    if response.status_code == 200:
        response_200 = QueueStatusInQueue.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorDetail.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorDetail.from_dict(response.json())

        return response_403

    if response.status_code == 413:
        response_413 = ErrorDetail.from_dict(response.json())

        return response_413

    if response.status_code == 429:
        response_429 = ErrorDetail.from_dict(response.json())

        return response_429

    if response.status_code == 502:
        response_502 = ErrorDetail.from_dict(response.json())

        return response_502

    if response.status_code == 503:
        response_503 = InfrastructureError.from_dict(response.json())

        return response_503

    if response.status_code == 504:
        response_504 = InfrastructureError.from_dict(response.json())

        return response_504

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorDetail | InfrastructureError | QueueStatusInQueue]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: KontextEditInput,
    fal_webhook: str | Unset = UNSET,
    x_fal_request_timeout: float | Unset = UNSET,
    x_fal_queue_priority: QueuePriority | Unset = UNSET,
    x_fal_runner_hint: str | Unset = UNSET,
    x_fal_no_retry: NoRetry | Unset = UNSET,
    x_fal_object_lifecycle_preference: str | Unset = UNSET,
) -> Response[ErrorDetail | InfrastructureError | QueueStatusInQueue]:
    """Submit an image edit (FLUX.1 Kontext [max]) to the queue

     Queue submit for `fal-ai/flux-pro/kontext/max`: edits `image_url` following `prompt`. Answers 200
    with the queue status (IN_QUEUE). Invalid input is accepted here and reported by the result (422).

    Args:
        fal_webhook (str | Unset):
        x_fal_request_timeout (float | Unset):
        x_fal_queue_priority (QueuePriority | Unset): Queue priority of a request.
        x_fal_runner_hint (str | Unset):
        x_fal_no_retry (NoRetry | Unset): Any of these values asks fal not to retry the request
            server-side.
        x_fal_object_lifecycle_preference (str | Unset):
        body (KontextEditInput): Input of the edit endpoints fal-ai/flux-pro/kontext and fal-
            ai/flux-pro/kontext/max.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | InfrastructureError | QueueStatusInQueue]
    """

    kwargs = _get_kwargs(
        body=body,
        fal_webhook=fal_webhook,
        x_fal_request_timeout=x_fal_request_timeout,
        x_fal_queue_priority=x_fal_queue_priority,
        x_fal_runner_hint=x_fal_runner_hint,
        x_fal_no_retry=x_fal_no_retry,
        x_fal_object_lifecycle_preference=x_fal_object_lifecycle_preference,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: KontextEditInput,
    fal_webhook: str | Unset = UNSET,
    x_fal_request_timeout: float | Unset = UNSET,
    x_fal_queue_priority: QueuePriority | Unset = UNSET,
    x_fal_runner_hint: str | Unset = UNSET,
    x_fal_no_retry: NoRetry | Unset = UNSET,
    x_fal_object_lifecycle_preference: str | Unset = UNSET,
) -> ErrorDetail | InfrastructureError | QueueStatusInQueue | None:
    """Submit an image edit (FLUX.1 Kontext [max]) to the queue

     Queue submit for `fal-ai/flux-pro/kontext/max`: edits `image_url` following `prompt`. Answers 200
    with the queue status (IN_QUEUE). Invalid input is accepted here and reported by the result (422).

    Args:
        fal_webhook (str | Unset):
        x_fal_request_timeout (float | Unset):
        x_fal_queue_priority (QueuePriority | Unset): Queue priority of a request.
        x_fal_runner_hint (str | Unset):
        x_fal_no_retry (NoRetry | Unset): Any of these values asks fal not to retry the request
            server-side.
        x_fal_object_lifecycle_preference (str | Unset):
        body (KontextEditInput): Input of the edit endpoints fal-ai/flux-pro/kontext and fal-
            ai/flux-pro/kontext/max.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | InfrastructureError | QueueStatusInQueue
    """

    return sync_detailed(
        client=client,
        body=body,
        fal_webhook=fal_webhook,
        x_fal_request_timeout=x_fal_request_timeout,
        x_fal_queue_priority=x_fal_queue_priority,
        x_fal_runner_hint=x_fal_runner_hint,
        x_fal_no_retry=x_fal_no_retry,
        x_fal_object_lifecycle_preference=x_fal_object_lifecycle_preference,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: KontextEditInput,
    fal_webhook: str | Unset = UNSET,
    x_fal_request_timeout: float | Unset = UNSET,
    x_fal_queue_priority: QueuePriority | Unset = UNSET,
    x_fal_runner_hint: str | Unset = UNSET,
    x_fal_no_retry: NoRetry | Unset = UNSET,
    x_fal_object_lifecycle_preference: str | Unset = UNSET,
) -> Response[ErrorDetail | InfrastructureError | QueueStatusInQueue]:
    """Submit an image edit (FLUX.1 Kontext [max]) to the queue

     Queue submit for `fal-ai/flux-pro/kontext/max`: edits `image_url` following `prompt`. Answers 200
    with the queue status (IN_QUEUE). Invalid input is accepted here and reported by the result (422).

    Args:
        fal_webhook (str | Unset):
        x_fal_request_timeout (float | Unset):
        x_fal_queue_priority (QueuePriority | Unset): Queue priority of a request.
        x_fal_runner_hint (str | Unset):
        x_fal_no_retry (NoRetry | Unset): Any of these values asks fal not to retry the request
            server-side.
        x_fal_object_lifecycle_preference (str | Unset):
        body (KontextEditInput): Input of the edit endpoints fal-ai/flux-pro/kontext and fal-
            ai/flux-pro/kontext/max.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | InfrastructureError | QueueStatusInQueue]
    """

    kwargs = _get_kwargs(
        body=body,
        fal_webhook=fal_webhook,
        x_fal_request_timeout=x_fal_request_timeout,
        x_fal_queue_priority=x_fal_queue_priority,
        x_fal_runner_hint=x_fal_runner_hint,
        x_fal_no_retry=x_fal_no_retry,
        x_fal_object_lifecycle_preference=x_fal_object_lifecycle_preference,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: KontextEditInput,
    fal_webhook: str | Unset = UNSET,
    x_fal_request_timeout: float | Unset = UNSET,
    x_fal_queue_priority: QueuePriority | Unset = UNSET,
    x_fal_runner_hint: str | Unset = UNSET,
    x_fal_no_retry: NoRetry | Unset = UNSET,
    x_fal_object_lifecycle_preference: str | Unset = UNSET,
) -> ErrorDetail | InfrastructureError | QueueStatusInQueue | None:
    """Submit an image edit (FLUX.1 Kontext [max]) to the queue

     Queue submit for `fal-ai/flux-pro/kontext/max`: edits `image_url` following `prompt`. Answers 200
    with the queue status (IN_QUEUE). Invalid input is accepted here and reported by the result (422).

    Args:
        fal_webhook (str | Unset):
        x_fal_request_timeout (float | Unset):
        x_fal_queue_priority (QueuePriority | Unset): Queue priority of a request.
        x_fal_runner_hint (str | Unset):
        x_fal_no_retry (NoRetry | Unset): Any of these values asks fal not to retry the request
            server-side.
        x_fal_object_lifecycle_preference (str | Unset):
        body (KontextEditInput): Input of the edit endpoints fal-ai/flux-pro/kontext and fal-
            ai/flux-pro/kontext/max.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | InfrastructureError | QueueStatusInQueue
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            fal_webhook=fal_webhook,
            x_fal_request_timeout=x_fal_request_timeout,
            x_fal_queue_priority=x_fal_queue_priority,
            x_fal_runner_hint=x_fal_runner_hint,
            x_fal_no_retry=x_fal_no_retry,
            x_fal_object_lifecycle_preference=x_fal_object_lifecycle_preference,
        )
    ).parsed
