from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.log_entry_level import LogEntryLevel, check_log_entry_level

T = TypeVar("T", bound="LogEntry")


@_attrs_define
class LogEntry:
    """One log line of a request, returned when logs were asked for.

    Attributes:
        level (LogEntryLevel):
        message (str):
        source (str): Where the line came from; fal-js types it as "USER".
        timestamp (datetime.datetime):
    """

    level: LogEntryLevel
    message: str
    source: str
    timestamp: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        level: str = self.level

        message = self.message

        source = self.source

        timestamp = self.timestamp.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "level": level,
                "message": message,
                "source": source,
                "timestamp": timestamp,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        level = check_log_entry_level(d.pop("level"))

        message = d.pop("message")

        source = d.pop("source")

        timestamp = datetime.datetime.fromisoformat(d.pop("timestamp"))

        log_entry = cls(
            level=level,
            message=message,
            source=source,
            timestamp=timestamp,
        )

        log_entry.additional_properties = d
        return log_entry

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
