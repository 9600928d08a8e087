from typing import Literal

WebhookPayloadStatus = Literal["ERROR", "OK"]

WEBHOOK_PAYLOAD_STATUS_VALUES: set[WebhookPayloadStatus] = {
    "ERROR",
    "OK",
}


def check_webhook_payload_status(value: str) -> WebhookPayloadStatus:
    if value in WEBHOOK_PAYLOAD_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {WEBHOOK_PAYLOAD_STATUS_VALUES!r}")
