from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.queue_status_completed_status import QueueStatusCompletedStatus, check_queue_status_completed_status
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.log_entry import LogEntry
    from ..models.queue_metrics import QueueMetrics


T = TypeVar("T", bound="QueueStatusCompleted")


@_attrs_define
class QueueStatusCompleted:
    """A finished request (status answers HTTP 200). Failed and cancelled requests are COMPLETED too, with `error` and
    `error_type`; the result then answers with the error.

        Attributes:
            cancel_url (str):
            logs (list[LogEntry] | None): null unless logs were asked for (logs=1 or logs=true).
            request_id (str):
            response_url (str):
            status (QueueStatusCompletedStatus):
            status_url (str):
            error (None | str | Unset): What went wrong, for a failed or cancelled request.
            error_type (None | str | Unset): A machine-readable kind of error, e.g. request_timeout.
            metrics (QueueMetrics | Unset): Measurements of a completed request.
    """

    cancel_url: str
    logs: list[LogEntry] | None
    request_id: str
    response_url: str
    status: QueueStatusCompletedStatus
    status_url: str
    error: None | str | Unset = UNSET
    error_type: None | str | Unset = UNSET
    metrics: QueueMetrics | Unset = UNSET
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

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        error_type: None | str | Unset
        if isinstance(self.error_type, Unset):
            error_type = UNSET
        else:
            error_type = self.error_type

        metrics: dict[str, Any] | Unset = UNSET
        if not isinstance(self.metrics, Unset):
            metrics = self.metrics.to_dict()

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
        if error is not UNSET:
            field_dict["error"] = error
        if error_type is not UNSET:
            field_dict["error_type"] = error_type
        if metrics is not UNSET:
            field_dict["metrics"] = metrics

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.log_entry import LogEntry  # noqa: PLC0415
        from ..models.queue_metrics import QueueMetrics  # noqa: PLC0415

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

        status = check_queue_status_completed_status(d.pop("status"))

        status_url = d.pop("status_url")

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_error_type(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error_type = _parse_error_type(d.pop("error_type", UNSET))

        _metrics = d.pop("metrics", UNSET)
        metrics: QueueMetrics | Unset
        if isinstance(_metrics, Unset):
            metrics = UNSET
        else:
            metrics = QueueMetrics.from_dict(_metrics)

        queue_status_completed = cls(
            cancel_url=cancel_url,
            logs=logs,
            request_id=request_id,
            response_url=response_url,
            status=status,
            status_url=status_url,
            error=error,
            error_type=error_type,
            metrics=metrics,
        )

        queue_status_completed.additional_properties = d
        return queue_status_completed

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
