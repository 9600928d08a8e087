from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.cancel_status_status import CancelStatusStatus, check_cancel_status_status

T = TypeVar("T", bound="CancelStatus")


@_attrs_define
class CancelStatus:
    """The answer to cancel: OK (removed from the queue), CANCELLATION_REQUESTED (a running request is asked to stop),
    ALREADY_COMPLETED, NOT_FOUND.

        Attributes:
            status (CancelStatusStatus):
    """

    status: CancelStatusStatus
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status: str = self.status

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = check_cancel_status_status(d.pop("status"))

        cancel_status = cls(
            status=status,
        )

        cancel_status.additional_properties = d
        return cancel_status

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
