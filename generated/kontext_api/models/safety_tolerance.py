from typing import Literal

SafetyTolerance = Literal["1", "2", "3", "4", "5", "6"]

SAFETY_TOLERANCE_VALUES: set[SafetyTolerance] = {
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
}


def check_safety_tolerance(value: str) -> SafetyTolerance:
    if value in SAFETY_TOLERANCE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SAFETY_TOLERANCE_VALUES!r}")
