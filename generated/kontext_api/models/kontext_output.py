from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.generated_image import GeneratedImage
    from ..models.timings import Timings


T = TypeVar("T", bound="KontextOutput")


@_attrs_define
class KontextOutput:
    """Output of the multi and text-to-image endpoints (kontext/multi, kontext/max/multi, kontext/text-to-image,
    kontext/max/text-to-image).

        Attributes:
            has_nsfw_concepts (list[bool]): Whether each generated image contains NSFW concepts, one per image.
            images (list[GeneratedImage]): The generated images.
            prompt (str): The prompt used for generating the image.
            seed (int): The seed used: the input's, or the random one chosen when none was given.
            timings (Timings): Processing times in seconds, by stage (fal reports `inference`; may be empty).
    """

    has_nsfw_concepts: list[bool]
    images: list[GeneratedImage]
    prompt: str
    seed: int
    timings: Timings
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        has_nsfw_concepts = self.has_nsfw_concepts

        images = []
        for images_item_data in self.images:
            images_item = images_item_data.to_dict()
            images.append(images_item)

        prompt = self.prompt

        seed = self.seed

        timings = self.timings.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "has_nsfw_concepts": has_nsfw_concepts,
                "images": images,
                "prompt": prompt,
                "seed": seed,
                "timings": timings,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.generated_image import GeneratedImage  # noqa: PLC0415
        from ..models.timings import Timings  # noqa: PLC0415

        d = dict(src_dict)
        has_nsfw_concepts = cast(list[bool], d.pop("has_nsfw_concepts"))

        images = []
        _images = d.pop("images")
        for images_item_data in _images:
            images_item = GeneratedImage.from_dict(images_item_data)

            images.append(images_item)

        prompt = d.pop("prompt")

        seed = d.pop("seed")

        timings = Timings.from_dict(d.pop("timings"))

        kontext_output = cls(
            has_nsfw_concepts=has_nsfw_concepts,
            images=images,
            prompt=prompt,
            seed=seed,
            timings=timings,
        )

        kontext_output.additional_properties = d
        return kontext_output

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
