from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.infrastructure_error_error_type import InfrastructureErrorErrorType, check_infrastructure_error_error_type

T = TypeVar("T", bound="InfrastructureError")


@_attrs_define
class InfrastructureError:
    """An error of fal's infrastructure rather than of the input.

    Attributes:
        detail (str):
        error_type (InfrastructureErrorErrorType):
    """

    detail: str
    error_type: InfrastructureErrorErrorType
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        detail = self.detail

        error_type: str = self.error_type

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "detail": detail,
                "error_type": error_type,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        detail = d.pop("detail")

        error_type = check_infrastructure_error_error_type(d.pop("error_type"))

        infrastructure_error = cls(
            detail=detail,
            error_type=error_type,
        )

        infrastructure_error.additional_properties = d
        return infrastructure_error

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
