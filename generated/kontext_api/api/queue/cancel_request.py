from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.cancel_accepted import CancelAccepted
from ...models.cancel_status import CancelStatus
from ...models.error_detail import ErrorDetail
from ...models.infrastructure_error import InfrastructureError
from ...types import Response


def _get_kwargs(
    request_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/fal-ai/flux-pro/requests/{request_id}/cancel".format(
            request_id=quote(str(request_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CancelAccepted | CancelStatus | ErrorDetail | InfrastructureError | None:
    if response.status_code == 200:
        response_200 = CancelAccepted.from_dict(response.json())

        return response_200

    if response.status_code == 202:
        response_202 = CancelStatus.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = CancelStatus.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorDetail.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = CancelStatus.from_dict(response.json())

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
) -> Response[CancelAccepted | CancelStatus | ErrorDetail | InfrastructureError]:
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
) -> Response[CancelAccepted | CancelStatus | ErrorDetail | InfrastructureError]:
    """Cancel a request

     A request not yet finished is asked to stop (it may still run if already late); it then ends
    COMPLETED with an error. fal answers 202 CANCELLATION_REQUESTED; a 200 (status OK, removed from the
    queue; or `{success}` as fal's per-endpoint OpenAPI says) is a success too. 400 when the request had
    already completed, 404 for an unknown id.

    Args:
        request_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CancelAccepted | CancelStatus | ErrorDetail | InfrastructureError]
    """

    kwargs = _get_kwargs(
        request_id=request_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    request_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> CancelAccepted | CancelStatus | ErrorDetail | InfrastructureError | None:
    """Cancel a request

     A request not yet finished is asked to stop (it may still run if already late); it then ends
    COMPLETED with an error. fal answers 202 CANCELLATION_REQUESTED; a 200 (status OK, removed from the
    queue; or `{success}` as fal's per-endpoint OpenAPI says) is a success too. 400 when the request had
    already completed, 404 for an unknown id.

    Args:
        request_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CancelAccepted | CancelStatus | ErrorDetail | InfrastructureError
    """

    return sync_detailed(
        request_id=request_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    request_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[CancelAccepted | CancelStatus | ErrorDetail | InfrastructureError]:
    """Cancel a request

     A request not yet finished is asked to stop (it may still run if already late); it then ends
    COMPLETED with an error. fal answers 202 CANCELLATION_REQUESTED; a 200 (status OK, removed from the
    queue; or `{success}` as fal's per-endpoint OpenAPI says) is a success too. 400 when the request had
    already completed, 404 for an unknown id.

    Args:
        request_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CancelAccepted | CancelStatus | ErrorDetail | InfrastructureError]
    """

    kwargs = _get_kwargs(
        request_id=request_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    request_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> CancelAccepted | CancelStatus | ErrorDetail | InfrastructureError | None:
    """Cancel a request

     A request not yet finished is asked to stop (it may still run if already late); it then ends
    COMPLETED with an error. fal answers 202 CANCELLATION_REQUESTED; a 200 (status OK, removed from the
    queue; or `{success}` as fal's per-endpoint OpenAPI says) is a success too. 400 when the request had
    already completed, 404 for an unknown id.

    Args:
        request_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CancelAccepted | CancelStatus | ErrorDetail | InfrastructureError
    """

    return (
        await asyncio_detailed(
            request_id=request_id,
            client=client,
        )
    ).parsed
