"""Checking an input against the contract before it is sent.

The schema is the contract's own request body schema, validated by the contract model's validator
(:attr:`kontext_contract.contract.EndpointModel.input_validator`). Problems are built by the same function
that builds the mock's 422 (:func:`kontext_contract.contract.error_items`), in the FastAPI shape fal itself
answers with (docs/sources.md §3.2), so a local error and a 422 read the same.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from ._endpoints import Catalog, EndpointInfo
from ._errors import ValidationError, summarize_detail

__all__ = ["InputValidator"]


class InputValidator:
    """Validates inputs for every endpoint of a :class:`Catalog`; validators are compiled once, lazily.

    Args:
        catalog: the contract's endpoints and schemas.
        allow_extra_fields: if false (the default), a top-level field the contract's schema does not
            list is an error (fal would silently ignore a misspelt ``promt``); the contract itself does
            not forbid them, so a relay's own extensions can be let through with ``True``.
    """

    def __init__(self, catalog: Catalog, *, allow_extra_fields: bool = False) -> None:
        self._catalog = catalog
        self._allow_extra = allow_extra_fields

    def prepare(self, info: EndpointInfo, value: Any) -> dict[str, Any]:
        """The JSON body for ``value`` (a generated input model or a mapping), checked against the contract.

        Raises:
            ValidationError: ``status_code`` None, ``detail`` the FastAPI-shaped list of problems, the
                message naming each field (e.g. ``image_url: Field required``).
        """
        if hasattr(value, "to_dict") and not isinstance(value, Mapping):
            if type(value).__name__ != info.input_schema or not isinstance(value, info.input_model):
                raise self._error(
                    info,
                    [
                        {
                            "loc": ["body"],
                            "msg": f"{info.endpoint_id} takes {info.input_schema}, not {type(value).__name__}",
                            "type": "model_type",
                        }
                    ],
                )
            body: dict[str, Any] = value.to_dict()
        elif isinstance(value, Mapping):
            body = dict(value)
        else:
            raise self._error(
                info,
                [
                    {
                        "loc": ["body"],
                        "msg": f"Input should be {info.input_schema} or a mapping, not {type(value).__name__}",
                        "type": "model_type",
                    }
                ],
            )
        problems = info.model.input_validator.detail(body)
        if not self._allow_extra:
            known = list(info.model.input_properties)
            for name in body:
                if name not in known:
                    close = difflib.get_close_matches(name, known, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    problems.append(
                        {
                            "loc": ["body", name],
                            "msg": f"Extra inputs are not permitted: {info.input_schema} has no field {name!r}{hint}",
                            "type": "extra_forbidden",
                        }
                    )
        if problems:
            raise self._error(info, problems)
        return body

    @staticmethod
    def _error(info: EndpointInfo, problems: list[dict[str, Any]]) -> ValidationError:
        for item in problems:
            if isinstance(item.get("input"), str) and len(item["input"]) > 200:
                item["input"] = item["input"][:200] + "…"  # never copy a whole data: URI into an error
        return ValidationError(
            f"invalid input for {info.endpoint_id} ({info.input_schema}, checked before sending): "
            + summarize_detail(problems, limit=600),
            detail=problems,
        )
