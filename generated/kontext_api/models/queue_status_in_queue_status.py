from typing import Literal

QueueStatusInQueueStatus = Literal["IN_QUEUE"]

QUEUE_STATUS_IN_QUEUE_STATUS_VALUES: set[QueueStatusInQueueStatus] = {
    "IN_QUEUE",
}


def check_queue_status_in_queue_status(value: str) -> QueueStatusInQueueStatus:
    if value in QUEUE_STATUS_IN_QUEUE_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {QUEUE_STATUS_IN_QUEUE_STATUS_VALUES!r}")
