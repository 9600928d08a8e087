from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.aspect_ratio import AspectRatio, check_aspect_ratio
from ..models.output_format import OutputFormat, check_output_format
from ..models.safety_tolerance import SafetyTolerance, check_safety_tolerance
from ..types import UNSET, Unset

T = TypeVar("T", bound="KontextEditInput")


@_attrs_define
class KontextEditInput:
    """Input of the edit endpoints fal-ai/flux-pro/kontext and fal-ai/flux-pro/kontext/max.

    Attributes:
        image_url (str): The image to edit, as a public URL or a base64 `data:` URI.
        prompt (str): The prompt to generate an image from.
        aspect_ratio (AspectRatio | Unset): Width:height of the generated image.
        enhance_prompt (bool | Unset): Whether to enhance the prompt for better results. Default: False.
        guidance_scale (float | Unset): Classifier-free guidance scale, how closely the image follows the prompt (1 to
            20). Default: 3.5.
        num_images (int | Unset): The number of images to generate (1 to 4). Default: 1.
        output_format (OutputFormat | Unset): Encoding of the generated images. Default: 'jpeg'.
        safety_tolerance (SafetyTolerance | Unset): Safety tolerance, a string: "1" is the strictest, "6" the most
            permissive (API only). Send "2", not 2. Default: '2'.
        seed (int | Unset): The same seed and the same prompt given to the same version of the model will output the
            same image every time. Omitted: a random seed, reported in the output's `seed`.
        sync_mode (bool | Unset): If true, images come back as `data:` URIs and are not kept in the request history.
            Default: False.
    """

    image_url: str
    prompt: str
    aspect_ratio: AspectRatio | Unset = UNSET
    enhance_prompt: bool | Unset = False
    guidance_scale: float | Unset = 3.5
    num_images: int | Unset = 1
    output_format: OutputFormat | Unset = "jpeg"
    safety_tolerance: SafetyTolerance | Unset = "2"
    seed: int | Unset = UNSET
    sync_mode: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        image_url = self.image_url

        prompt = self.prompt

        aspect_ratio: str | Unset = UNSET
        if not isinstance(self.aspect_ratio, Unset):
            aspect_ratio = self.aspect_ratio

        enhance_prompt = self.enhance_prompt

        guidance_scale = self.guidance_scale

        num_images = self.num_images

        output_format: str | Unset = UNSET
        if not isinstance(self.output_format, Unset):
            output_format = self.output_format

        safety_tolerance: str | Unset = UNSET
        if not isinstance(self.safety_tolerance, Unset):
            safety_tolerance = self.safety_tolerance

        seed = self.seed

        sync_mode = self.sync_mode

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "image_url": image_url,
                "prompt": prompt,
            }
        )
        if aspect_ratio is not UNSET:
            field_dict["aspect_ratio"] = aspect_ratio
        if enhance_prompt is not UNSET:
            field_dict["enhance_prompt"] = enhance_prompt
        if guidance_scale is not UNSET:
            field_dict["guidance_scale"] = guidance_scale
        if num_images is not UNSET:
            field_dict["num_images"] = num_images
        if output_format is not UNSET:
            field_dict["output_format"] = output_format
        if safety_tolerance is not UNSET:
            field_dict["safety_tolerance"] = safety_tolerance
        if seed is not UNSET:
            field_dict["seed"] = seed
        if sync_mode is not UNSET:
            field_dict["sync_mode"] = sync_mode

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        image_url = d.pop("image_url")

        prompt = d.pop("prompt")

        _aspect_ratio = d.pop("aspect_ratio", UNSET)
        aspect_ratio: AspectRatio | Unset
        if isinstance(_aspect_ratio, Unset):
            aspect_ratio = UNSET
        else:
            aspect_ratio = check_aspect_ratio(_aspect_ratio)

        enhance_prompt = d.pop("enhance_prompt", UNSET)

        guidance_scale = d.pop("guidance_scale", UNSET)

        num_images = d.pop("num_images", UNSET)

        _output_format = d.pop("output_format", UNSET)
        output_format: OutputFormat | Unset
        if isinstance(_output_format, Unset):
            output_format = UNSET
        else:
            output_format = check_output_format(_output_format)

        _safety_tolerance = d.pop("safety_tolerance", UNSET)
        safety_tolerance: SafetyTolerance | Unset
        if isinstance(_safety_tolerance, Unset):
            safety_tolerance = UNSET
        else:
            safety_tolerance = check_safety_tolerance(_safety_tolerance)

        seed = d.pop("seed", UNSET)

        sync_mode = d.pop("sync_mode", UNSET)

        kontext_edit_input = cls(
            image_url=image_url,
            prompt=prompt,
            aspect_ratio=aspect_ratio,
            enhance_prompt=enhance_prompt,
            guidance_scale=guidance_scale,
            num_images=num_images,
            output_format=output_format,
            safety_tolerance=safety_tolerance,
            seed=seed,
            sync_mode=sync_mode,
        )

        kontext_edit_input.additional_properties = d
        return kontext_edit_input

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
