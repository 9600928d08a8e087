from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.queue_status_in_progress_status import QueueStatusInProgressStatus, check_queue_status_in_progress_status

if TYPE_CHECKING:
    from ..models.log_entry import LogEntry


T = TypeVar("T", bound="QueueStatusInProgress")


@_attrs_define
class QueueStatusInProgress:
    """A request being processed (status answers HTTP 202).

    Attributes:
        cancel_url (str):
        logs (list[LogEntry] | None): null unless logs were asked for (logs=1 or logs=true).
        request_id (str):
        response_url (str):
        status (QueueStatusInProgressStatus):
        status_url (str):
    """

    cancel_url: str
    logs: list[LogEntry] | None
    request_id: str
    response_url: str
    status: QueueStatusInProgressStatus
    status_url: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        cancel_url = self.cancel_url

        logs: list[dict[str, Any]] | None
        if isinstance(self.logs, list):
            logs = []
            for logs_type_0_item_data in self.logs:
                logs_type_0_item = logs_type_0_item_data.to_dict()
                logs.append(logs_type_0_item)

        else:
            logs = self.logs

        request_id = self.request_id

        response_url = self.response_url

        status: str = self.status

        status_url = self.status_url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "cancel_url": cancel_url,
                "logs": logs,
                "request_id": request_id,
                "response_url": response_url,
                "status": status,
                "status_url": status_url,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.log_entry import LogEntry  # noqa: PLC0415

        d = dict(src_dict)
        cancel_url = d.pop("cancel_url")

        def _parse_logs(data: object) -> list[LogEntry] | None:
            if data is None:
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                logs_type_0 = []
                _logs_type_0 = data
                for logs_type_0_item_data in _logs_type_0:
                    logs_type_0_item = LogEntry.from_dict(logs_type_0_item_data)

                    logs_type_0.append(logs_type_0_item)

                return logs_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[LogEntry] | None, data)

        logs = _parse_logs(d.pop("logs"))

        request_id = d.pop("request_id")

        response_url = d.pop("response_url")

        status = check_queue_status_in_progress_status(d.pop("status"))

        status_url = d.pop("status_url")

        queue_status_in_progress = cls(
            cancel_url=cancel_url,
            logs=logs,
            request_id=request_id,
            response_url=response_url,
            status=status,
            status_url=status_url,
        )

        queue_status_in_progress.additional_properties = d
        return queue_status_in_progress

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
