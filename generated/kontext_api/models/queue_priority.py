from typing import Literal

QueuePriority = Literal["low", "normal"]

QUEUE_PRIORITY_VALUES: set[QueuePriority] = {
    "low",
    "normal",
}


def check_queue_priority(value: str) -> QueuePriority:
    if value in QUEUE_PRIORITY_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {QUEUE_PRIORITY_VALUES!r}")
