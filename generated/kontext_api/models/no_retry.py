from typing import Literal

NoRetry = Literal["1", "true", "yes"]

NO_RETRY_VALUES: set[NoRetry] = {
    "1",
    "true",
    "yes",
}


def check_no_retry(value: str) -> NoRetry:
    if value in NO_RETRY_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {NO_RETRY_VALUES!r}")
