"""The checks: one small function each, one rule each (the first paragraph of its docstring).

Each reads the scenarios it declares (``needs``) and compares what came back with the provider document:
status codes, schemas, media types and required headers are looked up there, never typed again. The
sources of each rule are in its ``source`` (docs/sources.md; docs/contract.md has the
same numbering).
"""

from __future__ import annotations

import io
from urllib.parse import urlsplit

from .._openapi import event_data_schema, fold
from ..contract import (
    ALREADY_COMPLETED,
    CANCELLATION_REQUESTED,
    NOT_FOUND,
    TERMINAL_STATES,
    URL_FIELDS,
)
from ._context import Context, check
from ._http import Download, Exchange, brief
from ._inputs import ratio_of
from ._model import Outcome, failed, passed, skipped
from ._scenarios import AUTH, CANCEL, INVALID, MAIN, REPEAT, RUN, SYNC_MODE, UNKNOWN, QueueRun, state_of

__all__ = ["ALL_CHECKS"]

#: how far an image's width:height may be from the asked aspect_ratio (fal rounds sides to multiples
#: of 16 or 32 pixels: 16:9 comes out 1392x752, 4 % off)
RATIO_TOLERANCE = 0.06
_SUBMIT_DEP = ("submit_response_schema",)
_OUTPUT_DEP = ("result_output_schema",)


# -- helpers ---------------------------------------------------------------------------------------------


def _conformance(ctx: Context, operation_id: str, exchange: Exchange, code: int | None = None) -> list[str]:
    """Problems of ``exchange`` against the contract's response of ``operation_id`` for ``code`` (default:
    the code it got): the code declared, the media type, the JSON schema."""
    op = ctx.contract.find_operation(operation_id)
    if op is None:
        return [f"the contract has no operation {operation_id}"]
    if exchange.status is None:
        return ["no answer"]
    wanted = exchange.status if code is None else code
    if exchange.status != wanted:
        return [f"status {exchange.status}, not {wanted}"]
    spec = op.find_response(wanted)
    if spec is None:
        return [f"{operation_id} declares no {wanted} response"]
    if spec.media and exchange.content_type not in spec.media:
        return [f"content type {exchange.content_type or 'none'!r}, not {' or '.join(sorted(spec.media))}"]
    schema = spec.media.get("application/json")
    if schema is None:
        return []
    if not exchange.is_json:
        return ["the body is not JSON"]
    return ctx.contract.schema_errors(schema, exchange.body)


def _schema_name(ctx: Context, operation_id: str, code: int) -> str:
    op = ctx.contract.find_operation(operation_id)
    spec = op.find_response(code) if op else None
    schema = spec.media.get("application/json") if spec else None
    ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
    return f"{code} {ref.rsplit('/', 1)[-1] or 'as declared'} ({operation_id})"


def _cancel_code(ctx: Context, answer: str) -> int:
    """The status code the contract gives cancel's ``answer`` (docs/sources.md §3.1; ``x-fal-status``).

    Raises:
        ContractError: the contract states no code for it.
    """
    return ctx.contract.cancel_code(answer, ctx.endpoint)


def _cancel_found(exchange: Exchange) -> str:
    """A cancel answer in the terms of the ``cancel`` disagreement (``200 {success?: boolean}``, as fal's
    per-endpoint OpenAPI states it), else the code and body found."""
    body = exchange.body
    if (
        exchange.status == 200
        and isinstance(body, dict)
        and set(body) <= {"success"}
        and isinstance(body.get("success", True), bool)
    ):
        return "200 {success?: boolean}"
    return f"{exchange.status} {brief(body, 80)}"


def _missing(downloads: list[Download]) -> Outcome | None:
    """SKIP when a replay holds no bytes for an image (its recording stored only the digest)."""
    gone = next((d for d in downloads if d.missing), None)
    return skipped(gone.error or "an image is not in the recording") if gone is not None else None


def _usable(run: QueueRun) -> Outcome | None:
    if run.usable:
        return None
    return skipped(f"the submit gave no request to follow ({run.problem})")


def _image(download: Download) -> tuple[str | None, tuple[int, int] | None, str | None]:
    """(MIME type Pillow reads, (width, height) in pixels, error) of downloaded image bytes."""
    if download.error:
        return None, None, download.error
    from PIL import Image

    from ..client._images import image_content_type

    try:
        mime = image_content_type(download.data)
        with Image.open(io.BytesIO(download.data)) as img:
            size = (int(img.width), int(img.height))
    except Exception as exc:  # ImageContentError, Pillow's own
        return None, None, f"not a readable image ({exc})"
    return mime, size, None


def _mime_for_format(output_format: str) -> str | None:
    """The MIME type Pillow gives the format named by an ``output_format`` value (``png`` -> image/png)."""
    from PIL import Image

    Image.init()
    name = output_format.upper()
    return Image.MIME.get("JPEG" if name == "JPG" else name)


# -- auth ------------------------------------------------------------------------------------------------


@check(
    scope="provider",
    needs=(AUTH,),
    source="docs/sources.md §3.4, §3.2; docs/contract.md §3.4; fal docs inference-api",
)
def auth_scheme_accepted(ctx: Context) -> Outcome:
    """The key is accepted with the expected Authorization scheme: ``Key`` on fal, ``Bearer`` on the relays
    (``x-provider.auth.scheme``, or --auth)."""
    probe = ctx.data(AUTH)
    sent = f"{probe.expected.request_line()} with Authorization: {probe.expected_scheme} ****"
    expected = "not 401/403 (an unknown id answers 404)"
    if probe.expected.status is not None and probe.expected.status >= 500:
        return failed(
            sent,
            expected,
            f"{probe.expected.answer()}: a server error for an unknown request id, so whether the key is "
            f"accepted cannot be told from it; the other checks went on with {probe.expected_scheme}",
        )
    if probe.working_scheme == probe.expected_scheme:
        return passed(sent, expected, probe.expected.answer())
    return failed(
        sent,
        expected,
        f"{probe.expected.answer()}; the key is accepted with {probe.other_scheme} instead "
        f"({probe.other.status}); the other checks went on with {probe.other_scheme}",
    )


@check(
    scope="provider",
    needs=(AUTH,),
    depends_on=("auth_scheme_accepted",),
    source="docs/sources.md §3.4, §3.2 (401 No user found for Key ID and Secret)",
)
def wrong_auth_scheme_rejected(ctx: Context) -> Outcome:
    """The same key sent with the other scheme (``Bearer`` to fal, ``Key`` to a relay) is rejected with the
    contract's 401."""
    probe = ctx.data(AUTH)
    op = ctx.contract.request_operation("status")
    codes = [c for c in ("401", "403") if op.find_response(c) is not None] or ["401"]
    sent = f"{probe.other.request_line()} with Authorization: {probe.other_scheme} ****"
    expected = " or ".join(codes) + " (getRequestStatus)"
    if str(probe.other.status) in codes:
        return passed(sent, expected, probe.other.answer())
    return failed(sent, expected, f"{probe.other.answer()}: the provider takes the key with either scheme")


# -- unknown request ids ---------------------------------------------------------------------------------


@check(scope="provider", needs=(UNKNOWN,), source="docs/sources.md §3.1 (result: 404 if unknown)")
def result_404_unknown_id(ctx: Context) -> Outcome:
    """The result of a request id the provider never handed out answers 404 with the contract's body."""
    probe = ctx.data(UNKNOWN)
    problems = _conformance(ctx, "result", probe.result, 404)
    expected = _schema_name(ctx, "result", 404)
    if problems:
        return failed(
            probe.result.request_line(), expected, f"{probe.result.answer()}: {'; '.join(problems)}"
        )
    return passed(probe.result.request_line(), expected, probe.result.answer())


@check(
    scope="provider", needs=(UNKNOWN,), source="docs/sources.md §3.1 (cancel: NOT_FOUND for an unknown id)"
)
def cancel_unknown_404(ctx: Context) -> Outcome:
    """Cancelling an unknown request id answers 404 ``{"status": "NOT_FOUND"}`` (the contract's CancelStatus;
    the code is the one the contract gives NOT_FOUND)."""
    probe = ctx.data(UNKNOWN)
    value = NOT_FOUND
    code = _cancel_code(ctx, value)
    problems = _conformance(ctx, "cancel", probe.cancel, code)
    body = probe.cancel.body
    if not problems and not (isinstance(body, dict) and body.get("status") == value):
        problems.append(f"status is not {value}")
    expected = _schema_name(ctx, "cancel", code) + f" with status {value}"
    if problems:
        return failed(
            probe.cancel.request_line(),
            expected,
            f"{probe.cancel.answer()}: {'; '.join(problems)}",
            found=_cancel_found(probe.cancel),
        )
    return passed(probe.cancel.request_line(), expected, probe.cancel.answer())


# -- invalid input ---------------------------------------------------------------------------------------


@check(
    scope="endpoint",
    needs=(INVALID,),
    source="docs/sources.md §3.1 (invalid input is accepted at submit, 200 IN_QUEUE)",
)
def invalid_input_accepted_at_submit(ctx: Context) -> Outcome:
    """An input that fails validation is still accepted at submit: 200 with the queue status (it is reported
    by the result, not by the submit)."""
    run: QueueRun = ctx.data(INVALID)
    op = ctx.contract.endpoint(ctx.endpoint_id).submit
    expected = _schema_name(ctx, op.operation_id, 200)
    problems = _conformance(ctx, op.operation_id, run.submit, 200)
    if problems:
        return failed(
            run.submit.request_line(True), expected, f"{run.submit.answer()}: {'; '.join(problems)}"
        )
    return passed(run.submit.request_line(True), expected, run.submit.answer())


@check(
    scope="endpoint",
    needs=(INVALID,),
    depends_on=("invalid_input_accepted_at_submit",),
    source="docs/sources.md §3.1, §3.2 (422, FastAPI detail items; an empty body gives loc [body, <each required field>])",
)
def invalid_input_422_detail(ctx: Context) -> Outcome:
    """Once the invalid request has completed, its result is 422 with the contract's validation body, whose
    ``detail`` names every missing required field at ``["body", <field>]``."""
    run: QueueRun = ctx.data(INVALID)
    required = ctx.contract.endpoint(ctx.endpoint_id).required_inputs
    expected = _schema_name(ctx, "result", 422) + f" with loc {[['body', r] for r in required]}"
    if run.result is None:
        return failed(run.submit.request_line(), expected, f"no result: {run.problem}")
    problems = _conformance(ctx, "result", run.result, 422)
    if not problems:
        locs = [item.get("loc") for item in run.result.body.get("detail", []) if isinstance(item, dict)]
        missing = [r for r in required if ["body", r] not in locs]
        if missing:
            problems.append(f"no detail item at loc {[['body', r] for r in missing]}")
    sent = f"{run.submit.request_line(True)}, then {run.result.request_line()}"
    if problems:
        return failed(sent, expected, f"{run.result.answer()}: {'; '.join(problems)}")
    return passed(sent, expected, run.result.answer())


# -- the main request: submit and URLs -------------------------------------------------------------------


@check(
    scope="endpoint",
    needs=(MAIN,),
    source="docs/sources.md §3.1 (submit answers 200 IN_QUEUE); the provider document's submit 200 schema",
)
def submit_response_schema(ctx: Context) -> Outcome:
    """The submit answers 200 with a body that matches the provider document's submit response schema
    (``QueueStatusInQueue``: status, request_id, response_url, status_url, cancel_url, queue_position)."""
    run: QueueRun = ctx.data(MAIN)
    op = ctx.contract.endpoint(ctx.endpoint_id).submit
    expected = _schema_name(ctx, op.operation_id, 200)
    problems = _conformance(ctx, op.operation_id, run.submit, 200)
    if problems:
        # in the terms of the url-fields-required disagreement: URL fields left out read as "optional";
        # any other problem is not about it ("": no note)
        urls = ("response_url", "status_url", "cancel_url")
        about_urls = all(any(f"'{u}' is a required property" in p for u in urls) for p in problems)
        return failed(
            run.submit.request_line(True),
            expected,
            f"{run.submit.answer()}: {'; '.join(problems)}",
            found="optional" if about_urls else "",
        )
    return passed(run.submit.request_line(True), expected, run.submit.answer())


@check(
    scope="endpoint",
    needs=(MAIN,),
    depends_on=_SUBMIT_DEP,
    detects=("queue-urls-foreign-host",),
    source="docs/sources.md §2.14, §3.1; docs/contract.md §2.14 (a foreign host means the key would leak)",
)
def queue_urls_own_host(ctx: Context) -> Outcome:
    """``response_url``, ``status_url`` and ``cancel_url`` are on the provider's own host (the base URL):
    a client that follows URLs on another host sends the key there."""
    run: QueueRun = ctx.data(MAIN)
    foreign = {name: url for name, url in run.returned.items() if not ctx.session.on_base(url)}
    expected = "the three URLs on the base URL's host"
    if not foreign:
        return passed(
            run.submit.request_line(), expected, ", ".join(ctx.session.show(u) for u in run.returned.values())
        )
    hosts = sorted({"{0.scheme}://{0.netloc}".format(urlsplit(url)) for url in foreign.values()})
    example = next(iter(foreign.items()))
    return failed(
        run.submit.request_line(),
        expected,
        f"{', '.join(foreign)} on {', '.join(hosts)} (e.g. {example[0]} {example[1]}): a client following them "
        "sends the key there (the checks rebased them onto the base URL and never sent the key there)",
    )


@check(
    scope="endpoint",
    needs=(MAIN,),
    depends_on=_SUBMIT_DEP,
    detects=("queue-urls-wrong-app",),
    source="docs/sources.md §3.1 (request URLs use only owner/app: /fal-ai/flux-pro/requests/{id}), §2.14",
)
def request_urls_app(ctx: Context) -> Outcome:
    """The request URLs have the contract's paths, ``/{owner}/{app}/requests/{request_id}`` and its
    ``/status`` and ``/cancel``, with the app of the contract's request operations and the submit's
    request_id."""
    run: QueueRun = ctx.data(MAIN)
    assert run.request_id is not None
    contract = ctx.contract
    operations = dict(URL_FIELDS)
    endpoint = contract.endpoint(ctx.endpoint_id)
    wanted = {name: endpoint.request(op).path for name, op in operations.items()}
    base_path = urlsplit(ctx.session.base_url).path
    got: list[str] = []
    wrong = False
    for name, op in operations.items():
        path = endpoint.request(op).path_for(run.request_id)
        actual = urlsplit(run.returned.get(name, "")).path
        got.append(f"{name} {actual.replace(run.request_id, '{request_id}') or '(none)'}")
        wrong = wrong or actual not in (path, base_path + path)
    expected = f"{', '.join(wanted.values())} with request_id {run.request_id}"
    if wrong:
        # in the terms of the queue-paths disagreement: the request path found, as a template
        found = urlsplit(run.returned.get("response_url", "")).path.removeprefix(base_path)
        found = found.replace(run.request_id, "{request_id}")
        found = found.replace(f"/{ctx.endpoint_id}/requests/", "/{endpoint_id}/requests/", 1)
        return failed(run.submit.request_line(), expected, ", ".join(got), found=found or "(none)")
    return passed(run.submit.request_line(), expected, ", ".join(got))


# -- the main request: status ----------------------------------------------------------------------------


@check(
    scope="endpoint",
    needs=(MAIN,),
    depends_on=_SUBMIT_DEP,
    source="docs/sources.md §3.1 (result: 400 if not completed)",
)
def result_400_before_completion(ctx: Context) -> Outcome:
    """The result of a request that has not completed yet answers 400 with the contract's body."""
    run: QueueRun = ctx.data(MAIN)
    early = run.result_early
    assert early is not None
    expected = _schema_name(ctx, "result", 400)
    problems = _conformance(ctx, "result", early, 400)
    if not problems:
        return passed(early.request_line(), expected, early.answer())
    first_status = run.statuses[0] if run.statuses else None
    if early.status == 200 and state_of(first_status) in TERMINAL_STATES:
        return skipped(
            f"the request completed before its result could be asked early ({early.request_line()} answered 200)"
        )
    return failed(early.request_line(), expected, f"{early.answer()}: {'; '.join(problems)}")


@check(
    scope="endpoint",
    needs=(MAIN,),
    depends_on=_SUBMIT_DEP,
    source="docs/sources.md §3.1 (status: 202 while IN_QUEUE or IN_PROGRESS, 200 when COMPLETED)",
)
def status_codes_by_state(ctx: Context) -> Outcome:
    """Every status answer has the code the contract gives its state: 202 while pending (IN_QUEUE,
    IN_PROGRESS), 200 when COMPLETED."""
    run: QueueRun = ctx.data(MAIN)
    codes = {state: {str(c) for c in found} for state, found in ctx.contract.state_codes.items()}
    expected = ", ".join(f"{state} {'/'.join(sorted(c))}" for state, c in codes.items())
    seen: list[str] = []
    wrong: list[str] = []
    for exchange in run.statuses:
        state = state_of(exchange)
        pair = f"{state} {exchange.status}"
        if pair not in seen:
            seen.append(pair)
        if state not in codes or str(exchange.status) not in codes[state]:
            wrong.append(f"{exchange.request_line()} -> {exchange.answer(120)}")
    sent = f"{len(run.statuses)} x GET {ctx.session.show(run.follow['status_url'])}"
    if wrong:
        # in the terms of the status-codes disagreement
        codes_seen = {str(e.status) for e in run.statuses}
        found = "200 in every state" if codes_seen == {"200"} else ", ".join(seen)
        return failed(sent, expected, "; ".join(wrong[:2]), found=found)
    if run.completed is None:
        return failed(sent, expected, f"no COMPLETED status: {run.problem}")
    return passed(sent, expected, ", ".join(seen))


@check(
    scope="endpoint",
    needs=(MAIN,),
    depends_on=_SUBMIT_DEP,
    source="docs/sources.md §3.1 (queue_position only while IN_QUEUE)",
)
def queue_position_while_queued(ctx: Context) -> Outcome:
    """While a request is queued, its status carries ``queue_position``, an integer >= 0."""
    run: QueueRun = ctx.data(MAIN)
    queued = set(ctx.contract.queued_states)
    observed = [e for e in run.statuses if state_of(e) in queued]
    expected = f"queue_position (integer >= 0) on every {'/'.join(sorted(queued))} status"
    if not observed:
        return skipped(f"no {'/'.join(sorted(queued))} status observed: the request started at once")
    bad = [
        e
        for e in observed
        if not (
            isinstance(e.body.get("queue_position"), int)
            and not isinstance(e.body.get("queue_position"), bool)
        )
        or e.body["queue_position"] < 0
    ]
    sent = f"{len(observed)} queued status answer(s)"
    if bad:
        return failed(sent, expected, f"{bad[0].request_line()} -> {bad[0].answer(160)}")
    return passed(
        sent, expected, ", ".join(f"queue_position {e.body['queue_position']}" for e in observed[:4])
    )


@check(
    scope="endpoint",
    needs=(MAIN,),
    depends_on=_SUBMIT_DEP,
    source="docs/sources.md §3.1 (logs: fal-js sends 1/0, fal_client true/false: accept both); contract LogsFlag",
)
def logs_flag_accepted(ctx: Context) -> Outcome:
    """Status accepts every value of the contract's ``logs`` enum (``1``/``0`` as fal-js sends,
    ``true``/``false`` as fal_client sends) with a 2xx status: ``logs`` is a list when asked for, null
    otherwise."""
    run: QueueRun = ctx.data(MAIN)
    if not run.logs_probes:
        return skipped("the contract's getRequestStatus has no logs parameter")
    wrong: list[str] = []
    got: list[str] = []
    for value, exchange in run.logs_probes:
        logs = exchange.body.get("logs", "(absent)") if isinstance(exchange.body, dict) else "(no body)"
        asked = run.logs_param is not None and run.logs_param.is_true(value)
        accepted = exchange.status is not None and 200 <= exchange.status < 300 and exchange.is_json
        ok_logs = isinstance(logs, list) if asked else logs is None
        kind = "list" if isinstance(logs, list) else brief(logs, 40)
        got.append(f"{value}: {exchange.status} logs {kind}")
        if not (accepted and ok_logs):
            wrong.append(f"{value}: {exchange.answer(120)}")
    name = run.logs_param.name if run.logs_param else "logs"
    sent = f"GET {{status_url}}?{name}=" + "|".join(v for v, _ in run.logs_probes)
    on = "/".join(run.logs_param.true_values) if run.logs_param else ""
    off = "/".join(run.logs_param.false_values) if run.logs_param else ""
    expected = f"2xx; logs a list for {on}, null for {off}"
    if wrong:
        return failed(sent, expected, "; ".join(wrong[:2]))
    return passed(sent, expected, ", ".join(got))


@check(
    scope="endpoint",
    needs=(MAIN,),
    depends_on=_SUBMIT_DEP,
    source="docs/sources.md §3.1 (status stream: text/event-stream, data: events, closes after COMPLETED); contract streamRequestStatus",
)
def status_stream_offered(ctx: Context) -> Outcome:
    """The status stream answers 200 ``text/event-stream``; each ``data:`` event is a status matching the
    contract's event schema; the last is COMPLETED, and the server closes the stream after it."""
    run: QueueRun = ctx.data(MAIN)
    trace = run.stream
    assert trace is not None
    if trace.missing is not None:
        return skipped(trace.missing)
    exchange = trace.exchange
    op = ctx.contract.request_operation("status-stream", ctx.endpoint_id)
    spec = op.response(200)
    media = next(iter(spec.media), "text/event-stream")
    expected = f"200 {media}, events matching the event schema, closed after COMPLETED"
    sent = exchange.request_line()
    if exchange.status != 200 or exchange.content_type not in spec.media:
        return failed(sent, expected, exchange.answer())
    event_schema = event_data_schema(op.doc, spec.media[media] or {})
    states = [str(e.get("status")) if isinstance(e, dict) else "(not JSON)" for e in trace.events]
    for raw, event in zip(trace.raw_events, trace.events, strict=True):
        if event is None:
            return failed(sent, expected, f"an event that is not JSON: data: {raw[:80]!r}")
        if event_schema is not None:
            problems = ctx.contract.schema_errors(event_schema, event)
            if problems:
                return failed(sent, expected, f"event {brief(event, 120)}: {'; '.join(problems)}")
    got = f"{len(trace.events)} events ({' -> '.join(states)}), {trace.comments} comments"
    if not trace.saw_terminal:
        return failed(sent, expected, f"{got}; no COMPLETED event ({trace.error or 'the stream ended'})")
    if not trace.closed_after_terminal:
        return failed(sent, expected, f"{got}; {trace.error or 'not closed'}")
    return passed(sent, expected, got + ", then closed")


# -- the main request: result and output -----------------------------------------------------------------


@check(
    scope="endpoint",
    needs=(MAIN,),
    depends_on=_SUBMIT_DEP,
    source="docs/sources.md §3.3 (output: images, timings, seed, has_nsfw_concepts, prompt); the endpoint's run 200 schema",
)
def result_output_schema(ctx: Context) -> Outcome:
    """The completed request's result is 200 with the model output as the contract states it for the
    endpoint (the 200 schema of its synchronous run operation)."""
    run: QueueRun = ctx.data(MAIN)
    schema = ctx.contract.endpoint(ctx.endpoint_id).output_schema
    if not schema:
        return skipped(f"no document states the output schema of {ctx.endpoint_id}")
    ref = schema.get("$ref", "").rsplit("/", 1)[-1] if isinstance(schema, dict) else ""
    expected = f"200 {ref or 'output'}"
    if run.result is None:
        return failed(run.submit.request_line(), expected, f"no result: {run.problem}")
    if run.result.status != 200 or not run.result.is_json:
        return failed(run.result.request_line(), expected, run.result.answer())
    problems = ctx.contract.schema_errors(schema, run.result.body)
    if problems:
        return failed(run.result.request_line(), expected, "; ".join(problems))
    return passed(run.result.request_line(), expected, run.result.answer(160))


@check(
    scope="endpoint",
    needs=(MAIN,),
    depends_on=_OUTPUT_DEP,
    source="docs/sources.md §3.3 (num_images 1-4; has_nsfw_concepts one per image)",
)
def num_images_honoured(ctx: Context) -> Outcome:
    """The output has as many images as ``num_images`` asked for, and one ``has_nsfw_concepts`` flag each."""
    run: QueueRun = ctx.data(MAIN)
    assert run.plan is not None and run.result is not None
    if run.plan.num_images is None:
        return skipped(f"the {ctx.endpoint_id} input schema has no num_images")
    body = run.result.body
    images, flags = body.get("images", []), body.get("has_nsfw_concepts", [])
    n = run.plan.num_images
    sent = f"num_images={n}"
    expected = f"{n} images and {n} has_nsfw_concepts flags"
    got = f"{len(images)} images, {len(flags) if isinstance(flags, list) else brief(flags)} flags"
    if len(images) == n and isinstance(flags, list) and len(flags) == n:
        return passed(sent, expected, got)
    return failed(sent, expected, got)


@check(
    scope="endpoint",
    needs=(MAIN,),
    depends_on=_OUTPUT_DEP,
    source="docs/sources.md §3.3 (aspect_ratio: width:height of the output); contract AspectRatio",
)
def image_size_follows_aspect_ratio(ctx: Context) -> Outcome:
    """Every image's pixel size (decoded) has the asked ``aspect_ratio`` (within 6 %), and the
    ``width``/``height`` the output states, where it states them, are that size."""
    run: QueueRun = ctx.data(MAIN)
    assert run.plan is not None and run.result is not None
    gone = _missing(run.images)
    if gone is not None:
        return gone
    aspect = run.plan.aspect_ratio
    if aspect is None:
        return skipped(f"the {ctx.endpoint_id} input schema has no non-square aspect_ratio value")
    want = ratio_of(aspect)
    assert want is not None
    items = [i for i in run.result.body.get("images", []) if isinstance(i, dict)]
    sent = f"aspect_ratio={aspect}"
    expected = f"width/height within {RATIO_TOLERANCE:.0%} of {want:.3f}"
    sizes: list[str] = []
    for item, download in zip(items, run.images, strict=False):
        _, size, error = _image(download)
        if size is None:
            return failed(sent, expected, f"image {download.url}: {error}")
        w, h = size
        sizes.append(f"{w}x{h}")
        if abs(w / h - want) / want > RATIO_TOLERANCE:
            return failed(sent, expected, f"{w}x{h} ({w / h:.3f})")
        stated = (item.get("width"), item.get("height"))
        if stated != (None, None) and stated != (w, h):
            return failed(sent, expected, f"the output states {stated[0]}x{stated[1]}, the image is {w}x{h}")
    if not sizes:
        return failed(sent, expected, "no image could be downloaded")
    return passed(sent, expected, ", ".join(sizes))


@check(
    scope="endpoint",
    needs=(MAIN,),
    depends_on=_OUTPUT_DEP,
    source="docs/sources.md §3.3 (output_format jpeg|png; content_type; GeneratedImage default image/jpeg)",
)
def image_bytes_match_format(ctx: Context) -> Outcome:
    """Every image's bytes decode as the asked ``output_format``, and its ``content_type`` (or the schema's
    default when absent) names the same type."""
    run: QueueRun = ctx.data(MAIN)
    assert run.plan is not None and run.result is not None
    gone = _missing(run.images)
    if gone is not None:
        return gone
    fmt = run.plan.output_format
    if fmt is None:
        return skipped(f"the {ctx.endpoint_id} input schema has no output_format")
    want = _mime_for_format(fmt)
    item_properties = ctx.contract.endpoint(ctx.endpoint_id).image_item_properties
    default_type = fold(ctx.contract.document, item_properties.get("content_type")).get("default")
    items = [i for i in run.result.body.get("images", []) if isinstance(i, dict)]
    sent = f"output_format={fmt}"
    expected = f"bytes and content_type {want}"
    got: list[str] = []
    for item, download in zip(items, run.images, strict=False):
        mime, _, error = _image(download)
        declared = item.get("content_type", default_type)
        got.append(f"bytes {mime}, content_type {declared}")
        if mime is None:
            return failed(sent, expected, f"image {download.url}: {error}")
        if mime != want or declared != want:
            return failed(
                sent, expected, got[-1] + ("" if "content_type" in item else " (the schema's default)")
            )
    if not got:
        return failed(sent, expected, "no image could be downloaded")
    return passed(sent, expected, "; ".join(got))


# -- cancel ----------------------------------------------------------------------------------------------


@check(
    scope="endpoint",
    needs=(MAIN,),
    depends_on=_SUBMIT_DEP,
    source="docs/sources.md §3.1 (cancel: 400 ALREADY_COMPLETED if done)",
)
def cancel_completed_400(ctx: Context) -> Outcome:
    """Cancelling a completed request answers 400 ``{"status": "ALREADY_COMPLETED"}`` (CancelStatus; the
    code is the one the contract gives ALREADY_COMPLETED)."""
    run: QueueRun = ctx.data(MAIN)
    value = ALREADY_COMPLETED
    code = _cancel_code(ctx, value)
    expected = _schema_name(ctx, "cancel", code) + f" with status {value}"
    if run.cancel is None:
        return failed(run.submit.request_line(), expected, f"the request did not complete: {run.problem}")
    problems = _conformance(ctx, "cancel", run.cancel, code)
    if not problems and run.cancel.body.get("status") != value:
        problems.append(f"status is not {value}")
    if problems:
        return failed(
            run.cancel.request_line(),
            expected,
            f"{run.cancel.answer()}: {'; '.join(problems)}",
            found=_cancel_found(run.cancel),
        )
    return passed(run.cancel.request_line(), expected, run.cancel.answer())


@check(
    scope="endpoint",
    needs=(CANCEL,),
    depends_on=_SUBMIT_DEP,
    source="docs/sources.md §3.1 (cancel: 202 CANCELLATION_REQUESTED if not yet finished)",
)
def cancel_unfinished_202(ctx: Context) -> Outcome:
    """Cancelling a request right after submitting it answers 202 ``{"status": "CANCELLATION_REQUESTED"}``,
    or another success the contract declares for cancel (200: ``OK`` as fal's cancel reference page lists it,
    ``{success}`` as fal's per-endpoint OpenAPI states it; docs/contract.md "Where fal's own publications
    disagree")."""
    run: QueueRun = ctx.data(CANCEL)
    skip = _usable(run)
    if skip is not None:
        return skip
    assert run.cancel is not None
    value, done = CANCELLATION_REQUESTED, ALREADY_COMPLETED
    wanted, done_code = _cancel_code(ctx, value), _cancel_code(ctx, done)
    expected = _schema_name(ctx, "cancel", wanted) + f" with status {value}"
    body = run.cancel.body
    if run.cancel.status == done_code and isinstance(body, dict) and body.get("status") == done:
        return skipped(f"the request completed before the cancel arrived ({done_code} {done})")
    code = run.cancel.status or 0
    cancel = ctx.contract.request_operation("cancel", ctx.endpoint_id)
    if code != wanted and 200 <= code < 300 and cancel.find_response(code) is not None:
        expected += f", or {_schema_name(ctx, 'cancel', code)}"
        problems = _conformance(ctx, "cancel", run.cancel, code)
        if problems:
            got = f"{run.cancel.answer()}: {'; '.join(problems)}"
            return failed(run.cancel.request_line(), expected, got, found=_cancel_found(run.cancel))
        return passed(run.cancel.request_line(), expected, run.cancel.answer())
    problems = _conformance(ctx, "cancel", run.cancel, wanted)
    if not problems and body.get("status") != value:
        problems.append(f"status is not {value}")
    if problems:
        return failed(
            run.cancel.request_line(),
            expected,
            f"{run.cancel.answer()}: {'; '.join(problems)}",
            found=_cancel_found(run.cancel),
        )
    return passed(run.cancel.request_line(), expected, run.cancel.answer())


# -- more outputs ----------------------------------------------------------------------------------------


def _same(a: Download, b: Download) -> tuple[bool, str]:
    if a.error or b.error:
        return False, a.error or b.error or ""
    if a.data == b.data:
        return True, f"identical bytes ({len(a.data)})"
    from PIL import Image, ImageChops

    try:
        with Image.open(io.BytesIO(a.data)) as x, Image.open(io.BytesIO(b.data)) as y:
            if x.size != y.size:
                return False, f"sizes {x.size} and {y.size}"
            diff = ImageChops.difference(x.convert("RGB"), y.convert("RGB"))
            histogram = diff.histogram()
            total = sum(i % 256 * n for i, n in enumerate(histogram))
            mean = total / (x.width * x.height * 3)
    except Exception as exc:  # Pillow's
        return False, f"not comparable ({exc})"
    return mean <= 1.0, f"different bytes, mean pixel difference {mean:.2f}/255"


@check(
    scope="endpoint",
    needs=(MAIN, REPEAT),
    depends_on=_SUBMIT_DEP,
    source="docs/sources.md §3.1 (every submit is queued as a new request with its own request_id); docs/checks.md repeated_submit_accepted (relay users' reports)",
)
def repeated_submit_accepted(ctx: Context) -> Outcome:
    """Submitting the same input a second time is queued as a new request: 200 with a request id of its
    own. A relay that refuses the repeat (409 Conflict, a "duplicate") or hands back the first request
    breaks a client's retry after a timeout and any batch of identical inputs."""
    main: QueueRun = ctx.data(MAIN)
    again: QueueRun = ctx.data(REPEAT)
    op = ctx.contract.endpoint(ctx.endpoint_id).submit
    sent = f"{again.submit.request_line()} twice with the same body"
    expected = _schema_name(ctx, op.operation_id, 200) + " with a new request_id"
    answer = again.submit.answer()
    if again.submit.status == 409:
        return failed(sent, expected, f"{answer}: the repeated submit is refused as a conflict")
    if again.submit.status != 200:
        return failed(sent, expected, f"{answer}: the repeated submit was not queued")
    if again.request_id is None:
        return failed(sent, expected, f"{answer}: no request_id")
    if again.request_id == main.request_id:
        return failed(sent, expected, f"the first request's id again ({again.request_id}): not a new request")
    return passed(sent, expected, f"request_id {again.request_id} (the first: {main.request_id})")


@check(
    scope="endpoint",
    needs=(MAIN, REPEAT),
    depends_on=(*_OUTPUT_DEP, "repeated_submit_accepted"),
    source="docs/sources.md §3.3 (seed: same seed and prompt give the same image); contract seed description",
)
def same_seed_same_image(ctx: Context) -> Outcome:
    """The same input with the same ``seed`` gives the same images (identical bytes, or pixels within 1/255
    on average), and the output reports that seed."""
    main: QueueRun = ctx.data(MAIN)
    again: QueueRun = ctx.data(REPEAT)
    assert main.plan is not None
    if main.plan.seed is None:
        return skipped(f"the {ctx.endpoint_id} input schema has no seed")
    sent = f"the main input twice, seed={main.plan.seed}"
    expected = f"the same images, output seed {main.plan.seed}"
    gone = _missing(main.images + again.images)
    if gone is not None:
        return gone
    if again.result is None or again.result.status != 200 or not isinstance(again.result.body, dict):
        got = again.result.answer() if again.result else f"no result: {again.problem}"
        return failed(sent, expected, f"the second request: {got}")
    seeds = [r.body.get("seed") for r in (main.result, again.result) if r is not None]
    if any(s != main.plan.seed for s in seeds):
        return failed(sent, expected, f"output seeds {seeds}")
    if len(main.images) != len(again.images) or not main.images:
        return failed(sent, expected, f"{len(main.images)} and {len(again.images)} images")
    notes = []
    for a, b in zip(main.images, again.images, strict=True):
        same, note = _same(a, b)
        notes.append(note)
        if not same:
            return failed(sent, expected, note)
    return passed(sent, expected, "; ".join(notes))


@check(
    scope="endpoint",
    needs=(SYNC_MODE,),
    depends_on=_SUBMIT_DEP,
    source="docs/sources.md §3.3 (sync_mode: images come back as data: URIs)",
)
def sync_mode_data_uris(ctx: Context) -> Outcome:
    """With ``sync_mode: true`` every output image's ``url`` is a ``data:`` URI whose bytes are an image."""
    run: QueueRun = ctx.data(SYNC_MODE)
    skip = _usable(run)
    if skip is not None:
        return skip
    sent = "the main input with sync_mode=true"
    expected = "every images[].url a data: URI of an image"
    if run.result is None or run.result.status != 200 or not isinstance(run.result.body, dict):
        return failed(sent, expected, run.result.answer() if run.result else f"no result: {run.problem}")
    gone = _missing(run.images)
    if gone is not None:
        return gone
    urls = [i.get("url") for i in run.result.body.get("images", []) if isinstance(i, dict)]
    if not urls:
        return failed(sent, expected, "no images")
    for url, download in zip(urls, run.images, strict=False):
        if not isinstance(url, str) or not url.startswith("data:"):
            return failed(sent, expected, f"url {brief(url, 100)}")
        mime, _, error = _image(download)
        if mime is None:
            return failed(sent, expected, f"{download.url}: {error}")
    return passed(
        sent,
        expected,
        f"{len(urls)} data: URIs ({', '.join(u.split(';', 1)[0] for u in urls if isinstance(u, str))})",
    )


@check(
    scope="endpoint",
    needs=(RUN,),
    source="docs/sources.md §3.5 (POST https://fal.run/{endpoint_id} answers with the output); contract run* operations",
)
def sync_run_offered(ctx: Context) -> Outcome:
    """The synchronous API answers ``POST {run base}/{endpoint_id}`` with 200 and the model output as the
    contract states it."""
    call = ctx.data(RUN)
    op = ctx.contract.endpoint(ctx.endpoint_id).run
    assert op is not None  # the RUN scenario runs only where the endpoint has a run
    expected = _schema_name(ctx, op.operation_id, 200)
    problems = _conformance(ctx, op.operation_id, call.exchange, 200)
    if problems:
        return failed(
            call.exchange.request_line(True), expected, f"{call.exchange.answer()}: {'; '.join(problems)}"
        )
    return passed(call.exchange.request_line(True), expected, call.exchange.answer(160))


@check(
    scope="endpoint",
    needs=(MAIN,),
    source="docs/sources.md §3.1 (response headers: x-fal-request-id); contract RequestIdHeader (required)",
)
def request_id_header_present(ctx: Context) -> Outcome:
    """Every answer for which the contract declares a required header (``x-fal-request-id`` on submit,
    status, result and run answers) carries it."""
    required: dict[str, int] = {}
    missing: list[str] = []
    for exchange in ctx.session.exchanges:
        op = ctx.contract.find_operation(exchange.operation) if exchange.operation else None
        if op is None or exchange.status is None:
            continue
        spec = op.find_response(exchange.status)
        if spec is None:
            continue
        for header in spec.required_headers:
            required[header] = required.get(header, 0) + 1
            if header.lower() not in exchange.headers:
                missing.append(f"{header} on {exchange.request_line()} -> {exchange.status}")
    if not required:
        return skipped("no answer seen for which the contract requires a header")
    sent = f"{sum(required.values())} answers that must carry it"
    expected = ", ".join(sorted(required))
    if missing:
        return failed(
            sent,
            expected,
            f"missing: {missing[0]}" + (f" (+{len(missing) - 1} more)" if len(missing) > 1 else ""),
        )
    return passed(sent, expected, "present on every one")


@check(
    scope="endpoint",
    needs=(MAIN,),
    source="docs/sources.md §3.2 (errors: 4xx/5xx with a FastAPI detail body); docs/checks.md no_error_body_on_success (relay users' reports)",
)
def no_error_body_on_success(ctx: Context) -> Outcome:
    """No answer with a success status (2xx) carries an error instead: a JSON object with ``detail``
    (FastAPI's error body) that is not what the contract declares for that answer. A client that trusts
    the status code takes such an error for a result."""
    seen = 0
    bad: list[str] = []
    for exchange in ctx.session.exchanges:
        if exchange.status is None or not 200 <= exchange.status < 300 or not exchange.is_json:
            continue
        seen += 1
        body = exchange.body
        if not isinstance(body, dict) or "detail" not in body:
            continue
        problems = _conformance(ctx, exchange.operation, exchange) if exchange.operation else ["no operation"]
        if problems:
            bad.append(f"{exchange.request_line()} -> {exchange.answer(120)}")
    sent = f"{seen} answers with a 2xx status"
    expected = "no error body (detail) on a 2xx answer"
    if bad:
        more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
        return failed(sent, expected, bad[0] + more + ": an error reported as a success")
    if not seen:
        return skipped("no 2xx JSON answer seen")
    return passed(sent, expected, "none carries one")


#: every check, in the order they run (provider-wide first, then per endpoint; free before paid)
ALL_CHECKS = (
    auth_scheme_accepted,
    wrong_auth_scheme_rejected,
    result_404_unknown_id,
    cancel_unknown_404,
    invalid_input_accepted_at_submit,
    invalid_input_422_detail,
    submit_response_schema,
    queue_urls_own_host,
    request_urls_app,
    result_400_before_completion,
    status_codes_by_state,
    queue_position_while_queued,
    logs_flag_accepted,
    status_stream_offered,
    result_output_schema,
    num_images_honoured,
    image_size_follows_aspect_ratio,
    image_bytes_match_format,
    cancel_completed_400,
    cancel_unfinished_202,
    repeated_submit_accepted,
    same_seed_same_image,
    sync_mode_data_uris,
    sync_run_offered,
    request_id_header_present,
    no_error_body_on_success,
)
