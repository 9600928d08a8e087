from typing import Literal

QueueStatusInProgressStatus = Literal["IN_PROGRESS"]

QUEUE_STATUS_IN_PROGRESS_STATUS_VALUES: set[QueueStatusInProgressStatus] = {
    "IN_PROGRESS",
}


def check_queue_status_in_progress_status(value: str) -> QueueStatusInProgressStatus:
    if value in QUEUE_STATUS_IN_PROGRESS_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {QUEUE_STATUS_IN_PROGRESS_STATUS_VALUES!r}")
