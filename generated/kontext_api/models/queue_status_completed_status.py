from typing import Literal

QueueStatusCompletedStatus = Literal["COMPLETED"]

QUEUE_STATUS_COMPLETED_STATUS_VALUES: set[QueueStatusCompletedStatus] = {
    "COMPLETED",
}


def check_queue_status_completed_status(value: str) -> QueueStatusCompletedStatus:
    if value in QUEUE_STATUS_COMPLETED_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {QUEUE_STATUS_COMPLETED_STATUS_VALUES!r}")
