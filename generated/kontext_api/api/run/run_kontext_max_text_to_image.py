from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_detail import ErrorDetail
from ...models.http_validation_error import HTTPValidationError
from ...models.infrastructure_error import InfrastructureError
from ...models.kontext_output import KontextOutput
from ...models.kontext_text_to_image_input import KontextTextToImageInput
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: KontextTextToImageInput,
    x_fal_request_timeout: float | Unset = UNSET,
    x_fal_runner_hint: str | Unset = UNSET,
    x_fal_object_lifecycle_preference: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_fal_request_timeout, Unset):
        headers["X-Fal-Request-Timeout"] = str(x_fal_request_timeout)

    if not isinstance(x_fal_runner_hint, Unset):
        headers["X-Fal-Runner-Hint"] = x_fal_runner_hint

    if not isinstance(x_fal_object_lifecycle_preference, Unset):
        headers["X-Fal-Object-Lifecycle-Preference"] = x_fal_object_lifecycle_preference

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/kontext/max/text-to-image",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorDetail | HTTPValidationError | InfrastructureError | KontextOutput | None:
    if response.status_code == 200:
        response_200 = KontextOutput.from_dict(response.json())

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

    if response.status_code == 422:
        response_422 = HTTPValidationError.from_dict(response.json())

        return response_422

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
) -> Response[ErrorDetail | HTTPValidationError | InfrastructureError | KontextOutput]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: KontextTextToImageInput,
    x_fal_request_timeout: float | Unset = UNSET,
    x_fal_runner_hint: str | Unset = UNSET,
    x_fal_object_lifecycle_preference: str | Unset = UNSET,
) -> Response[ErrorDetail | HTTPValidationError | InfrastructureError | KontextOutput]:
    """Run a text-to-image generation (FLUX.1 Kontext [max]) synchronously

     Synchronous run of `fal-ai/flux-pro/kontext/max/text-to-image` on https://fal.run: the connection
    stays open until the output is ready. Invalid input is answered with 422 here.

    Args:
        x_fal_request_timeout (float | Unset):
        x_fal_runner_hint (str | Unset):
        x_fal_object_lifecycle_preference (str | Unset):
        body (KontextTextToImageInput): Input of the text-to-image endpoints fal-ai/flux-
            pro/kontext/text-to-image and fal-ai/flux-pro/kontext/max/text-to-image.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | HTTPValidationError | InfrastructureError | KontextOutput]
    """

    kwargs = _get_kwargs(
        body=body,
        x_fal_request_timeout=x_fal_request_timeout,
        x_fal_runner_hint=x_fal_runner_hint,
        x_fal_object_lifecycle_preference=x_fal_object_lifecycle_preference,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: KontextTextToImageInput,
    x_fal_request_timeout: float | Unset = UNSET,
    x_fal_runner_hint: str | Unset = UNSET,
    x_fal_object_lifecycle_preference: str | Unset = UNSET,
) -> ErrorDetail | HTTPValidationError | InfrastructureError | KontextOutput | None:
    """Run a text-to-image generation (FLUX.1 Kontext [max]) synchronously

     Synchronous run of `fal-ai/flux-pro/kontext/max/text-to-image` on https://fal.run: the connection
    stays open until the output is ready. Invalid input is answered with 422 here.

    Args:
        x_fal_request_timeout (float | Unset):
        x_fal_runner_hint (str | Unset):
        x_fal_object_lifecycle_preference (str | Unset):
        body (KontextTextToImageInput): Input of the text-to-image endpoints fal-ai/flux-
            pro/kontext/text-to-image and fal-ai/flux-pro/kontext/max/text-to-image.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | HTTPValidationError | InfrastructureError | KontextOutput
    """

    return sync_detailed(
        client=client,
        body=body,
        x_fal_request_timeout=x_fal_request_timeout,
        x_fal_runner_hint=x_fal_runner_hint,
        x_fal_object_lifecycle_preference=x_fal_object_lifecycle_preference,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: KontextTextToImageInput,
    x_fal_request_timeout: float | Unset = UNSET,
    x_fal_runner_hint: str | Unset = UNSET,
    x_fal_object_lifecycle_preference: str | Unset = UNSET,
) -> Response[ErrorDetail | HTTPValidationError | InfrastructureError | KontextOutput]:
    """Run a text-to-image generation (FLUX.1 Kontext [max]) synchronously

     Synchronous run of `fal-ai/flux-pro/kontext/max/text-to-image` on https://fal.run: the connection
    stays open until the output is ready. Invalid input is answered with 422 here.

    Args:
        x_fal_request_timeout (float | Unset):
        x_fal_runner_hint (str | Unset):
        x_fal_object_lifecycle_preference (str | Unset):
        body (KontextTextToImageInput): Input of the text-to-image endpoints fal-ai/flux-
            pro/kontext/text-to-image and fal-ai/flux-pro/kontext/max/text-to-image.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | HTTPValidationError | InfrastructureError | KontextOutput]
    """

    kwargs = _get_kwargs(
        body=body,
        x_fal_request_timeout=x_fal_request_timeout,
        x_fal_runner_hint=x_fal_runner_hint,
        x_fal_object_lifecycle_preference=x_fal_object_lifecycle_preference,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: KontextTextToImageInput,
    x_fal_request_timeout: float | Unset = UNSET,
    x_fal_runner_hint: str | Unset = UNSET,
    x_fal_object_lifecycle_preference: str | Unset = UNSET,
) -> ErrorDetail | HTTPValidationError | InfrastructureError | KontextOutput | None:
    """Run a text-to-image generation (FLUX.1 Kontext [max]) synchronously

     Synchronous run of `fal-ai/flux-pro/kontext/max/text-to-image` on https://fal.run: the connection
    stays open until the output is ready. Invalid input is answered with 422 here.

    Args:
        x_fal_request_timeout (float | Unset):
        x_fal_runner_hint (str | Unset):
        x_fal_object_lifecycle_preference (str | Unset):
        body (KontextTextToImageInput): Input of the text-to-image endpoints fal-ai/flux-
            pro/kontext/text-to-image and fal-ai/flux-pro/kontext/max/text-to-image.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | HTTPValidationError | InfrastructureError | KontextOutput
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            x_fal_request_timeout=x_fal_request_timeout,
            x_fal_runner_hint=x_fal_runner_hint,
            x_fal_object_lifecycle_preference=x_fal_object_lifecycle_preference,
        )
    ).parsed
