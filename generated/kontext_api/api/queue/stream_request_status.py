from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_detail import ErrorDetail
from ...models.infrastructure_error import InfrastructureError
from ...models.logs_flag import LogsFlag
from ...models.queue_status_event import QueueStatusEvent
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
        "url": "/fal-ai/flux-pro/requests/{request_id}/status/stream".format(
            request_id=quote(str(request_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorDetail | InfrastructureError | QueueStatusEvent | str | None:
    if response.status_code == 200:

        def _parse_response_200(data: object) -> QueueStatusEvent | str:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_200_type_0 = QueueStatusEvent.from_dict(data)

                return response_200_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(QueueStatusEvent | str, data)

        response_200 = _parse_response_200(response.text)

        return response_200

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
) -> Response[ErrorDetail | InfrastructureError | QueueStatusEvent | str]:
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
) -> Response[ErrorDetail | InfrastructureError | QueueStatusEvent | str]:
    """Queue status of a request as Server-Sent Events

     Server-Sent Events: each event's `data:` line is a QueueStatus as JSON (the response schema is the
    schema of one event, as Schemathesis reads it; OpenAPI 3.2 calls it itemSchema); a `: ping` comment
    comes about every 15 seconds; the stream closes after the COMPLETED event.

    Args:
        request_id (str):
        logs (LogsFlag | Unset): Whether to include log lines (fal-js sends 1/0, fal_client
            true/false).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | InfrastructureError | QueueStatusEvent | str]
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
) -> ErrorDetail | InfrastructureError | QueueStatusEvent | str | None:
    """Queue status of a request as Server-Sent Events

     Server-Sent Events: each event's `data:` line is a QueueStatus as JSON (the response schema is the
    schema of one event, as Schemathesis reads it; OpenAPI 3.2 calls it itemSchema); a `: ping` comment
    comes about every 15 seconds; the stream closes after the COMPLETED event.

    Args:
        request_id (str):
        logs (LogsFlag | Unset): Whether to include log lines (fal-js sends 1/0, fal_client
            true/false).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | InfrastructureError | QueueStatusEvent | str
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
) -> Response[ErrorDetail | InfrastructureError | QueueStatusEvent | str]:
    """Queue status of a request as Server-Sent Events

     Server-Sent Events: each event's `data:` line is a QueueStatus as JSON (the response schema is the
    schema of one event, as Schemathesis reads it; OpenAPI 3.2 calls it itemSchema); a `: ping` comment
    comes about every 15 seconds; the stream closes after the COMPLETED event.

    Args:
        request_id (str):
        logs (LogsFlag | Unset): Whether to include log lines (fal-js sends 1/0, fal_client
            true/false).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | InfrastructureError | QueueStatusEvent | str]
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
) -> ErrorDetail | InfrastructureError | QueueStatusEvent | str | None:
    """Queue status of a request as Server-Sent Events

     Server-Sent Events: each event's `data:` line is a QueueStatus as JSON (the response schema is the
    schema of one event, as Schemathesis reads it; OpenAPI 3.2 calls it itemSchema); a `: ping` comment
    comes about every 15 seconds; the stream closes after the COMPLETED event.

    Args:
        request_id (str):
        logs (LogsFlag | Unset): Whether to include log lines (fal-js sends 1/0, fal_client
            true/false).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | InfrastructureError | QueueStatusEvent | str
    """

    return (
        await asyncio_detailed(
            request_id=request_id,
            client=client,
            logs=logs,
        )
    ).parsed
