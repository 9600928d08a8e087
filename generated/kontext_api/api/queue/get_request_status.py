from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_detail import ErrorDetail
from ...models.infrastructure_error import InfrastructureError
from ...models.logs_flag import LogsFlag
from ...models.queue_status_completed import QueueStatusCompleted
from ...models.queue_status_in_progress import QueueStatusInProgress
from ...models.queue_status_in_queue import QueueStatusInQueue
from ...types import UNSET, Response, Unset


def _get_kwargs(
    request_id: str,
    *,
    logs: LogsFlag | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_logs: str | Unset = UNSET
    if not isinstance(logs, Unset):
        json_logs = logs

    params["logs"] = json_logs

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/fal-ai/flux-pro/requests/{request_id}/status".format(
            request_id=quote(str(request_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorDetail | InfrastructureError | QueueStatusCompleted | QueueStatusInProgress | QueueStatusInQueue | None:
    if response.status_code == 200:
        response_200 = QueueStatusCompleted.from_dict(response.json())

        return response_200

    if response.status_code == 202:

        def _parse_response_202(data: object) -> QueueStatusInProgress | QueueStatusInQueue:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_202_type_0 = QueueStatusInQueue.from_dict(data)

                return response_202_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            response_202_type_1 = QueueStatusInProgress.from_dict(data)

            return response_202_type_1

        response_202 = _parse_response_202(response.json())

        return response_202

    if response.status_code == 401:
        response_401 = ErrorDetail.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorDetail.from_dict(response.json())

        return response_404

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
) -> Response[ErrorDetail | InfrastructureError | QueueStatusCompleted | QueueStatusInProgress | QueueStatusInQueue]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    request_id: str,
    *,
    client: AuthenticatedClient | Client,
    logs: LogsFlag | Unset = UNSET,
) -> Response[ErrorDetail | InfrastructureError | QueueStatusCompleted | QueueStatusInProgress | QueueStatusInQueue]:
    """Queue status of a request

     The request's queue status: 202 while IN_QUEUE (with queue_position) or IN_PROGRESS, 200 once
    COMPLETED, which a failed or cancelled request is too (with error and error_type). `logs` asks for
    the log lines (fal-js sends 1/0, fal_client true/false). Poll it at the status_url the submit
    returned, or read the status stream instead.

    Args:
        request_id (str):
        logs (LogsFlag | Unset): Whether to include log lines (fal-js sends 1/0, fal_client
            true/false).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | InfrastructureError | QueueStatusCompleted | QueueStatusInProgress | QueueStatusInQueue]
    """

    kwargs = _get_kwargs(
        request_id=request_id,
        logs=logs,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    request_id: str,
    *,
    client: AuthenticatedClient | Client,
    logs: LogsFlag | Unset = UNSET,
) -> ErrorDetail | InfrastructureError | QueueStatusCompleted | QueueStatusInProgress | QueueStatusInQueue | None:
    """Queue status of a request

     The request's queue status: 202 while IN_QUEUE (with queue_position) or IN_PROGRESS, 200 once
    COMPLETED, which a failed or cancelled request is too (with error and error_type). `logs` asks for
    the log lines (fal-js sends 1/0, fal_client true/false). Poll it at the status_url the submit
    returned, or read the status stream instead.

    Args:
        request_id (str):
        logs (LogsFlag | Unset): Whether to include log lines (fal-js sends 1/0, fal_client
            true/false).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | InfrastructureError | QueueStatusCompleted | QueueStatusInProgress | QueueStatusInQueue
    """

    return sync_detailed(
        request_id=request_id,
        client=client,
        logs=logs,
    ).parsed


async def asyncio_detailed(
    request_id: str,
    *,
    client: AuthenticatedClient | Client,
    logs: LogsFlag | Unset = UNSET,
) -> Response[ErrorDetail | InfrastructureError | QueueStatusCompleted | QueueStatusInProgress | QueueStatusInQueue]:
    """Queue status of a request

     The request's queue status: 202 while IN_QUEUE (with queue_position) or IN_PROGRESS, 200 once
    COMPLETED, which a failed or cancelled request is too (with error and error_type). `logs` asks for
    the log lines (fal-js sends 1/0, fal_client true/false). Poll it at the status_url the submit
    returned, or read the status stream instead.

    Args:
        request_id (str):
        logs (LogsFlag | Unset): Whether to include log lines (fal-js sends 1/0, fal_client
            true/false).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | InfrastructureError | QueueStatusCompleted | QueueStatusInProgress | QueueStatusInQueue]
    """

    kwargs = _get_kwargs(
        request_id=request_id,
        logs=logs,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    request_id: str,
    *,
    client: AuthenticatedClient | Client,
    logs: LogsFlag | Unset = UNSET,
) -> ErrorDetail | InfrastructureError | QueueStatusCompleted | QueueStatusInProgress | QueueStatusInQueue | None:
    """Queue status of a request

     The request's queue status: 202 while IN_QUEUE (with queue_position) or IN_PROGRESS, 200 once
    COMPLETED, which a failed or cancelled request is too (with error and error_type). `logs` asks for
    the log lines (fal-js sends 1/0, fal_client true/false). Poll it at the status_url the submit
    returned, or read the status stream instead.

    Args:
        request_id (str):
        logs (LogsFlag | Unset): Whether to include log lines (fal-js sends 1/0, fal_client
            true/false).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | InfrastructureError | QueueStatusCompleted | QueueStatusInProgress | QueueStatusInQueue
    """

    return (
        await asyncio_detailed(
            request_id=request_id,
            client=client,
            logs=logs,
        )
    ).parsed
