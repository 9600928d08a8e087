from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.cancel_accepted_status import CancelAcceptedStatus, check_cancel_accepted_status
from ..types import UNSET, Unset

T = TypeVar("T", bound="CancelAccepted")


@_attrs_define
class CancelAccepted:
    """A 200 answer to cancel: fal's docs give `{"status": "OK"}` (removed from the queue), fal's per-endpoint OpenAPI
    `{success?: boolean}`; both are accepted.

        Attributes:
            status (CancelAcceptedStatus | Unset):
            success (bool | Unset): Whether the request was cancelled (fal's per-endpoint OpenAPI).
    """

    status: CancelAcceptedStatus | Unset = UNSET
    success: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status

        success = self.success

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if status is not UNSET:
            field_dict["status"] = status
        if success is not UNSET:
            field_dict["success"] = success

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _status = d.pop("status", UNSET)
        status: CancelAcceptedStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = check_cancel_accepted_status(_status)

        success = d.pop("success", UNSET)

        cancel_accepted = cls(
            status=status,
            success=success,
        )

        cancel_accepted.additional_properties = d
        return cancel_accepted

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
