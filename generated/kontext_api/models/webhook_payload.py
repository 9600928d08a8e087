from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.webhook_payload_status import WebhookPayloadStatus, check_webhook_payload_status
from ..types import UNSET, Unset

T = TypeVar("T", bound="WebhookPayload")


@_attrs_define
class WebhookPayload:
    """The body fal POSTs to the `fal_webhook` URL when a queued request is done (the callback falWebhook of every queue
    submit).

        Attributes:
            request_id (str): The request id of the queue API (the one the submit returned).
            status (WebhookPayloadStatus): OK when the request succeeded, ERROR when it failed.
            error (None | str | Unset): What went wrong (status ERROR); null on OK.
            gateway_request_id (str | Unset): The id of the last try; the same as request_id unless the request was retried.
            payload (Any | Unset): The model output (status OK), or the error body (status ERROR, e.g. a 422 detail list);
                null when it could not be serialized as JSON (then payload_error says why).
            payload_error (None | str | Unset): Why payload is null although the request produced one (it was not valid
                JSON).
    """

    request_id: str
    status: WebhookPayloadStatus
    error: None | str | Unset = UNSET
    gateway_request_id: str | Unset = UNSET
    payload: Any | Unset = UNSET
    payload_error: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        request_id = self.request_id

        status: str = self.status

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        gateway_request_id = self.gateway_request_id

        payload = self.payload

        payload_error: None | str | Unset
        if isinstance(self.payload_error, Unset):
            payload_error = UNSET
        else:
            payload_error = self.payload_error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "request_id": request_id,
                "status": status,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error
        if gateway_request_id is not UNSET:
            field_dict["gateway_request_id"] = gateway_request_id
        if payload is not UNSET:
            field_dict["payload"] = payload
        if payload_error is not UNSET:
            field_dict["payload_error"] = payload_error

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        request_id = d.pop("request_id")

        status = check_webhook_payload_status(d.pop("status"))

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        gateway_request_id = d.pop("gateway_request_id", UNSET)

        payload = d.pop("payload", UNSET)

        def _parse_payload_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        payload_error = _parse_payload_error(d.pop("payload_error", UNSET))

        webhook_payload = cls(
            request_id=request_id,
            status=status,
            error=error,
            gateway_request_id=gateway_request_id,
            payload=payload,
            payload_error=payload_error,
        )

        webhook_payload.additional_properties = d
        return webhook_payload

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
