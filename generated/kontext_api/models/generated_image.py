from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="GeneratedImage")


@_attrs_define
class GeneratedImage:
    """An output image of the multi and text-to-image endpoints (fal's registry__image__fast_sdxl__models__Image, the name
    seed 002 prints).

        Attributes:
            height (int): Height in pixels.
            url (str): Where the image can be downloaded, or a `data:` URI when sync_mode was true.
            width (int): Width in pixels.
            content_type (str | Unset): MIME type of the image. Default: 'image/jpeg'.
    """

    height: int
    url: str
    width: int
    content_type: str | Unset = "image/jpeg"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        height = self.height

        url = self.url

        width = self.width

        content_type = self.content_type

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "height": height,
                "url": url,
                "width": width,
            }
        )
        if content_type is not UNSET:
            field_dict["content_type"] = content_type

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        height = d.pop("height")

        url = d.pop("url")

        width = d.pop("width")

        content_type = d.pop("content_type", UNSET)

        generated_image = cls(
            height=height,
            url=url,
            width=width,
            content_type=content_type,
        )

        generated_image.additional_properties = d
        return generated_image

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
