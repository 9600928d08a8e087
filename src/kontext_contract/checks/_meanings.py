"""What a FAIL of each check means for a person using the provider, in one plain sentence (the HTML report
shows it under a FAIL; docs/checks.md has the rules). Every check of :data:`~._checks.ALL_CHECKS` has one
(tests/checks/test_html_report.py holds it)."""

from __future__ import annotations

__all__ = ["FAIL_MEANS", "fail_means"]

FAIL_MEANS: dict[str, str] = {
    "auth_scheme_accepted": "Your key is not taken the way the provider's documents say: a client configured "
    "from them is refused at every call.",
    "wrong_auth_scheme_rejected": "The provider takes your key with either Authorization scheme: harmless for "
    "you, but it is not the API it claims to be, and its errors will not read as fal's.",
    "result_404_unknown_id": "A client asking for a request that does not exist gets something other than "
    "'not found', so it may wait forever or misreport the error.",
    "cancel_unknown_404": "Cancelling a request that does not exist does not say so: a client cannot tell a "
    "typo from a cancelled job.",
    "invalid_input_accepted_at_submit": "A bad input is refused at submit instead of being queued: a client "
    "written for fal reads the refusal as an outage, not as a validation error.",
    "invalid_input_422_detail": "When your input is wrong, the error does not name the field: you cannot "
    "tell what to fix.",
    "submit_response_schema": "The answer to a submit is not what a client expects: a generated client "
    "rejects it, and no request can be followed.",
    "queue_urls_own_host": "A client that follows these URLs sends your relay key to another host (fal's), "
    "and the relay's own key may be leaked or refused there.",
    "request_urls_app": "The URLs point at another app than the one you called: status and result may "
    "come from the wrong model, or fail with 404.",
    "result_400_before_completion": "Asking for a result too early does not say 'not ready': a client may "
    "take an error or an empty answer for the output.",
    "status_codes_by_state": "Status answers use other HTTP codes than the contract: a client that "
    "branches on the code misreads a waiting request as done, or as failed.",
    "queue_position_while_queued": "While your request waits, the provider does not say where it is in "
    "the queue: progress displays stay blank or break.",
    "logs_flag_accepted": "The logs switch fal's own clients send is refused or ignored: those clients "
    "fail, or show no logs.",
    "status_stream_offered": "The live status stream is missing or malformed: a client that subscribes to "
    "it (fal-js stream mode) hangs or fails.",
    "result_output_schema": "The output does not have the shape the contract states: a typed client "
    "fails to read your images even though you paid for them.",
    "num_images_honoured": "You do not get the number of images you asked (and pay) for.",
    "image_size_follows_aspect_ratio": "The images are not the aspect ratio you asked for: layouts built "
    "on it break.",
    "image_bytes_match_format": "The images are not in the format you asked for, or are labelled as "
    "another: saving or serving them by their type goes wrong.",
    "cancel_completed_400": "Cancelling a finished request does not say it was already done: a client "
    "cannot tell whether it was charged.",
    "cancel_unfinished_202": "Cancelling does not answer as the contract says: a client cannot stop a "
    "job it no longer wants, and keeps paying for it.",
    "repeated_submit_accepted": "Submitting the same input again is refused or answered with the first "
    "request: a retry after a timeout fails, and batches of identical inputs lose requests.",
    "same_seed_same_image": "The same seed does not give the same image: results are not reproducible.",
    "sync_mode_data_uris": "sync_mode does not return the images inline: a client that expects data: "
    "URIs has nothing to decode.",
    "sync_run_offered": "The synchronous API does not answer as the contract states: one-call clients "
    "(fal.run) fail.",
    "request_id_header_present": "Answers lack the request id header: support requests and logs cannot be "
    "matched to a request.",
    "no_error_body_on_success": "An error comes back with a success status: a client that trusts the code "
    "takes the error for a result, and retries never happen.",
}


def fail_means(check_name: str) -> str:
    """The plain-language line for a FAIL of ``check_name`` (empty for an unknown name)."""
    return FAIL_MEANS.get(check_name, "")
