"""Contains all the data models used in inputs/outputs"""

from .aspect_ratio import AspectRatio
from .cancel_accepted import CancelAccepted
from .cancel_accepted_status import CancelAcceptedStatus
from .cancel_status import CancelStatus
from .cancel_status_status import CancelStatusStatus
from .error_detail import ErrorDetail
from .generated_image import GeneratedImage
from .http_validation_error import HTTPValidationError
from .image_file import ImageFile
from .infrastructure_error import InfrastructureError
from .infrastructure_error_error_type import InfrastructureErrorErrorType
from .kontext_edit_input import KontextEditInput
from .kontext_edit_output import KontextEditOutput
from .kontext_multi_input import KontextMultiInput
from .kontext_output import KontextOutput
from .kontext_text_to_image_input import KontextTextToImageInput
from .log_entry import LogEntry
from .log_entry_level import LogEntryLevel
from .logs_flag import LogsFlag
from .no_retry import NoRetry
from .output_format import OutputFormat
from .queue_metrics import QueueMetrics
from .queue_priority import QueuePriority
from .queue_status_completed import QueueStatusCompleted
from .queue_status_completed_status import QueueStatusCompletedStatus
from .queue_status_event import QueueStatusEvent
from .queue_status_in_progress import QueueStatusInProgress
from .queue_status_in_progress_status import QueueStatusInProgressStatus
from .queue_status_in_queue import QueueStatusInQueue
from .queue_status_in_queue_status import QueueStatusInQueueStatus
from .safety_tolerance import SafetyTolerance
from .timings import Timings
from .validation_error_item import ValidationErrorItem
from .validation_error_item_ctx import ValidationErrorItemCtx
from .webhook_payload import WebhookPayload
from .webhook_payload_status import WebhookPayloadStatus

__all__ = (
    "AspectRatio",
    "CancelAccepted",
    "CancelAcceptedStatus",
    "CancelStatus",
    "CancelStatusStatus",
    "ErrorDetail",
    "GeneratedImage",
    "HTTPValidationError",
    "ImageFile",
    "InfrastructureError",
    "InfrastructureErrorErrorType",
    "KontextEditInput",
    "KontextEditOutput",
    "KontextMultiInput",
    "KontextOutput",
    "KontextTextToImageInput",
    "LogEntry",
    "LogEntryLevel",
    "LogsFlag",
    "NoRetry",
    "OutputFormat",
    "QueueMetrics",
    "QueuePriority",
    "QueueStatusCompleted",
    "QueueStatusCompletedStatus",
    "QueueStatusEvent",
    "QueueStatusInProgress",
    "QueueStatusInProgressStatus",
    "QueueStatusInQueue",
    "QueueStatusInQueueStatus",
    "SafetyTolerance",
    "Timings",
    "ValidationErrorItem",
    "ValidationErrorItemCtx",
    "WebhookPayload",
    "WebhookPayloadStatus",
)
