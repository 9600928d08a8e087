from typing import Literal

CancelStatusStatus = Literal["ALREADY_COMPLETED", "CANCELLATION_REQUESTED", "NOT_FOUND", "OK"]

CANCEL_STATUS_STATUS_VALUES: set[CancelStatusStatus] = {
    "ALREADY_COMPLETED",
    "CANCELLATION_REQUESTED",
    "NOT_FOUND",
    "OK",
}


def check_cancel_status_status(value: str) -> CancelStatusStatus:
    if value in CANCEL_STATUS_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {CANCEL_STATUS_STATUS_VALUES!r}")
