from typing import Literal

CancelAcceptedStatus = Literal["OK"]

CANCEL_ACCEPTED_STATUS_VALUES: set[CancelAcceptedStatus] = {
    "OK",
}


def check_cancel_accepted_status(value: str) -> CancelAcceptedStatus:
    if value in CANCEL_ACCEPTED_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {CANCEL_ACCEPTED_STATUS_VALUES!r}")
