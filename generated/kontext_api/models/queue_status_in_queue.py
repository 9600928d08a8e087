from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.queue_status_in_queue_status import QueueStatusInQueueStatus, check_queue_status_in_queue_status
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.log_entry import LogEntry


T = TypeVar("T", bound="QueueStatusInQueue")


@_attrs_define
class QueueStatusInQueue:
    """A request waiting in the queue: the answer to submit (HTTP 200) and to status (HTTP 202). The URLs are where to ask
    next; use them as given rather than building them.

        Attributes:
            cancel_url (str): Where to cancel the request (PUT).
            queue_position (int): Requests ahead of this one.
            request_id (str): The request id.
            response_url (str): Where the result will be (GET).
            status (QueueStatusInQueueStatus):
            status_url (str): Where the status is (GET).
            logs (list[LogEntry] | None | Unset):
    """

    cancel_url: str
    queue_position: int
    request_id: str
    response_url: str
    status: QueueStatusInQueueStatus
    status_url: str
    logs: list[LogEntry] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        cancel_url = self.cancel_url

        queue_position = self.queue_position

        request_id = self.request_id

        response_url = self.response_url

        status: str = self.status

        status_url = self.status_url

        logs: list[dict[str, Any]] | None | Unset
        if isinstance(self.logs, Unset):
            logs = UNSET
        elif isinstance(self.logs, list):
            logs = []
            for logs_type_0_item_data in self.logs:
                logs_type_0_item = logs_type_0_item_data.to_dict()
                logs.append(logs_type_0_item)

        else:
            logs = self.logs

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "cancel_url": cancel_url,
                "queue_position": queue_position,
                "request_id": request_id,
                "response_url": response_url,
                "status": status,
                "status_url": status_url,
            }
        )
        if logs is not UNSET:
            field_dict["logs"] = logs

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.log_entry import LogEntry  # noqa: PLC0415

        d = dict(src_dict)
        cancel_url = d.pop("cancel_url")

        queue_position = d.pop("queue_position")

        request_id = d.pop("request_id")

        response_url = d.pop("response_url")

        status = check_queue_status_in_queue_status(d.pop("status"))

        status_url = d.pop("status_url")

        def _parse_logs(data: object) -> list[LogEntry] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
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
            return cast(list[LogEntry] | None | Unset, data)

        logs = _parse_logs(d.pop("logs", UNSET))

        queue_status_in_queue = cls(
            cancel_url=cancel_url,
            queue_position=queue_position,
            request_id=request_id,
            response_url=response_url,
            status=status,
            status_url=status_url,
            logs=logs,
        )

        queue_status_in_queue.additional_properties = d
        return queue_status_in_queue

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
