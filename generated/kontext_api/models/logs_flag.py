from typing import Literal

LogsFlag = Literal["0", "1", "false", "true"]

LOGS_FLAG_VALUES: set[LogsFlag] = {
    "0",
    "1",
    "false",
    "true",
}


def check_logs_flag(value: str) -> LogsFlag:
    if value in LOGS_FLAG_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {LOGS_FLAG_VALUES!r}")
