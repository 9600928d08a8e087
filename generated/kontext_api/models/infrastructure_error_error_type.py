from typing import Literal

InfrastructureErrorErrorType = Literal[
    "request_timeout",
    "runner_connection_timeout",
    "runner_disconnected",
    "runner_scheduling_failure",
    "startup_timeout",
]

INFRASTRUCTURE_ERROR_ERROR_TYPE_VALUES: set[InfrastructureErrorErrorType] = {
    "request_timeout",
    "runner_connection_timeout",
    "runner_disconnected",
    "runner_scheduling_failure",
    "startup_timeout",
}


def check_infrastructure_error_error_type(value: str) -> InfrastructureErrorErrorType:
    if value in INFRASTRUCTURE_ERROR_ERROR_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {INFRASTRUCTURE_ERROR_ERROR_TYPE_VALUES!r}")
