"""``kontext-contract generate``: submit a prompt (and images), show the queue while waiting, save the results.

Exit status: the table ``check`` shares (``cli._exit``): 0 the images were saved; 1 the provider failed the job
(the message says why); 2 usage or connection error: bad input (an option, a file, a field the contract refuses), no
key, a key the provider rejects, the provider unreachable (the message names it); 130 interrupted (the request was
cancelled first). Everything printed passes through the key redaction (``kontext_contract._redact``).
"""

from __future__ import annotations

import errno
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

import click

from .._redact import redact
from ..client._client import Client
from ..client._core import QueueStatus
from ..client._endpoints import Endpoint, catalog
from ..client._errors import (
    AuthenticationError,
    ConfigurationError,
    ImageContentError,
    JournalError,
    KontextError,
    MissingCredentialsError,
    UnreachableError,
    ValidationError,
)
from ..client._images import extension_for, to_data_uri
from ..client._providers import Provider
from ..client._retry import RetryNotice, RetryPolicy
from . import _exit
from ._errors import field_error
from ._inputs import allows_extra_fields, input_fields
from ._options import (
    DOCUMENT_PROVIDERS,
    base_url_option,
    key_env_option,
    provider_option,
    root_option,
    run_base_url_option,
    seconds_option,
    wait_timeout_option,
)
from ._requests import generate_journal, generate_journal_options

__all__ = ["command"]

#: the Provider arguments whose option is not named after them
_OPTIONS = {"queue_base_url": "--base-url", "key": "--key-env"}
#: the largest --image file read into a data: URI, bytes (about 4/3 of it goes into the request body;
#: providers refuse large bodies with 413; larger images are better passed as URLs)
MAX_IMAGE_FILE_BYTES = 64 * 1024 * 1024
#: a submit (or run) that cannot connect (nothing was sent) is tried this many times in all, within
#: CONNECT_BUDGET seconds, then the command exits 2 naming the address (RetryPolicy.connect_attempts)
CONNECT_ATTEMPTS = 3
CONNECT_BUDGET = 1.5


def _say(text: str, *, err: bool = True) -> None:
    """Print a line, the key of every live client redacted (a provider may echo it anywhere)."""
    click.echo(redact(text), err=err)


def _usage(message: str) -> NoReturn:
    """Exit 2 with ``error: message`` (redacted), without a traceback."""
    _say(f"error: {message}")
    sys.exit(_exit.USAGE)


def _provider(
    name: str,
    base_url: str | None,
    run_base_url: str | None,
    key_env: str | None,
    shown: str | None = None,
    auth: str | None = None,
) -> Provider:
    """The provider as the options name it; the key variable is the provider document's
    ``x-provider.auth.key_env`` unless ``--key-env`` names another. Errors name the options (exit 2)."""
    key: str | None = None
    if key_env:
        key = os.environ.get(key_env) or None
        if key is None:
            raise click.BadParameter(f"${key_env} is not set (or empty)", param_hint="--key-env")
    try:
        if name == "relay":
            if not base_url or not key_env:
                raise click.UsageError(
                    "--provider relay (a relay without a provider document) needs --base-url and --key-env"
                )
            provider = Provider.relay(
                base_url,
                key=key,
                run_base_url=run_base_url,
                name=shown or "relay",
                auth_scheme="Key" if (auth or "").lower() == "key" else "Bearer",
            )
        else:
            provider = Provider.from_document(name, base_url=base_url, key=key)
            if shown:
                provider = provider.with_options(name=shown)
            if auth:
                provider = provider.with_options(auth_scheme="Key" if auth.lower() == "key" else "Bearer")
    except MissingCredentialsError as exc:
        raise click.UsageError(f"{exc.problem} (or name another variable with --key-env)") from None
    except ConfigurationError as exc:
        raise field_error(exc.field, exc.problem, _OPTIONS) from None
    if run_base_url is not None:
        provider = provider.with_options(run_base_url=run_base_url.rstrip("/"))
    elif base_url is not None and name != "relay":
        # --base-url the document's own queue host: its synchronous API is the document's too
        from ..contract import ContractModel

        facts = ContractModel.load(name).provider
        if facts.sync_api and facts.run_base_url and base_url.rstrip("/") == (facts.queue_base_url or ""):
            provider = provider.with_options(run_base_url=facts.run_base_url)
    return provider


def _key_names(provider_name: str, key_env: str | None) -> str:
    """The variable(s) the key was read from, as messages show them: ``--key-env``'s, else the provider
    document's ``x-provider.auth.key_env`` (``$FAL_KEY or $FAL_KEY_ID + $FAL_KEY_SECRET``)."""
    from ..contract import ContractModel
    from ._check import _key_names as names

    if key_env or provider_name == "relay":
        return f"${key_env}"
    contract = ContractModel.load(provider_name)
    facts = contract.provider
    if facts.key_env and os.environ.get(facts.key_env):
        return f"${facts.key_env}"
    if facts.key_env_pair and all(os.environ.get(name) for name in facts.key_env_pair):
        return f"${facts.key_env_pair[0]} + ${facts.key_env_pair[1]}"
    return names(contract, None)


def _check_run(provider: Provider, base_url: str | None) -> None:
    """``--run`` needs a synchronous API: exit 2 naming the option that gives one (nothing is sent).

    Raises:
        click.BadParameter: naming --run-base-url.
    """
    if provider.run_base_url is not None:
        return
    where = (
        f"--base-url {base_url} is not the provider document's queue host, so its synchronous API is unknown"
        if base_url
        else f"{provider.name} has no synchronous API (run) in its provider document"
    )
    raise click.BadParameter(
        f"--run needs the synchronous API's base URL: {where}; give it (e.g. the mock: {base_url or 'URL'}/run), "
        "or drop --run to use the queue",
        param_hint="--run-base-url",
    )


def _endpoint(explicit: str | None, images: int, use_max: bool) -> str:
    if explicit:
        try:
            return catalog().get(explicit).endpoint_id
        except ConfigurationError as exc:
            raise click.BadParameter(str(exc), param_hint="'--endpoint'") from None
    if images == 0:
        return Endpoint.KONTEXT_MAX_TEXT_TO_IMAGE if use_max else Endpoint.KONTEXT_TEXT_TO_IMAGE
    if images == 1:
        return Endpoint.KONTEXT_MAX if use_max else Endpoint.KONTEXT
    return Endpoint.KONTEXT_MAX_MULTI if use_max else Endpoint.KONTEXT_MULTI


def _image_value(value: str) -> str:
    """A URL or data: URI as given, or a file read into a data: URI.

    Raises:
        click.BadParameter: (exit 2, naming --image and the file) neither a URL nor a file, a file that
            cannot be read, larger than MAX_IMAGE_FILE_BYTES, or not an image Pillow reads.
    """
    if value.startswith(("http://", "https://", "data:")):
        return value
    path = Path(value)
    if not path.is_file():
        raise click.BadParameter(f"{value!r} is neither a URL nor a file", param_hint="--image")
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_FILE_BYTES:
            raise click.BadParameter(
                f"{value!r} is {size} bytes, more than the {MAX_IMAGE_FILE_BYTES} bytes read into a data: "
                "URI; pass a URL instead",
                param_hint="--image",
            )
        return to_data_uri(path)
    except ImageContentError as exc:
        raise click.BadParameter(
            f"{value!r}: expected an image file, found {exc}", param_hint="--image"
        ) from None
    except OSError as exc:
        raise click.BadParameter(
            f"{value!r} cannot be read: {exc.strerror or type(exc).__name__}", param_hint="--image"
        ) from None


def _check_out_dir(out_dir: Path) -> None:
    """Create ``--out`` and check that a file can be written there, before anything is paid for.

    Raises:
        click.BadParameter: (exit 2, naming --out) the folder cannot be made or written.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".kontext-", suffix=".part"):
            pass
    except OSError as exc:
        raise click.BadParameter(
            f"{str(out_dir)!r} is not a folder images can be written to: {exc.strerror or type(exc).__name__}",
            param_hint="--out",
        ) from None


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _file_stem(request_id: str) -> str:
    """A file name stem from a request id: redacted, only ``[A-Za-z0-9._-]``, at most 64 characters,
    never starting with a dot (a provider chooses the id: it must not pick the path or leak the key)."""
    stem = _UNSAFE.sub("_", redact(request_id).replace("****", "redacted"))[:64].lstrip(".")
    return stem or "request"


def _run_stem(out_dir: Path) -> str:
    """The stem of a synchronous run's files (it has no request id): ``run-N``, N the first number from 1
    that no file in ``out_dir`` uses yet (``run-N-*``), so runs never collide."""
    taken = {p.name.split("-")[1] for p in out_dir.glob("run-*-*") if p.name.count("-") >= 2}
    number = 1
    while str(number) in taken:
        number += 1
    return f"run-{number}"


def image_targets(output: Any, out_dir: Path, stem: str) -> list[Path]:
    """Where each image of ``output`` is saved: ``out_dir/{stem}-{n}{ext}``, the extension from its
    ``content_type`` (JPEG when none)."""
    targets = []
    for index, image in enumerate(output.images):
        content_type = image.content_type if isinstance(image.content_type, str) else "image/jpeg"
        targets.append(out_dir / f"{stem}-{index}{extension_for(content_type)}")
    return targets


def save_images(client: Client, output: Any, targets: list[Path], *, force: bool) -> list[Path]:
    """Save each image of ``output`` to its target; without ``force`` no existing file is replaced (a file
    that already holds exactly the image's bytes is kept as it is and counts as saved).

    Raises:
        FileExistsError: without ``force``, a target exists (checked for all before anything is written,
            and again atomically per file); ``filename`` names it.
        OSError: a file cannot be written.
        KontextError: an image cannot be downloaded or is not an image.
    """
    same: set[Path] = set()  # files that already hold the image (e.g. --reuse of a saved result)
    if not force:
        for image, target in zip(output.images, targets, strict=True):
            if target.exists():
                if not _holds(client, image, target):
                    raise FileExistsError(errno.EEXIST, "exists", str(target))
                same.add(target)
    return [
        target if target in same else client.save_image(image, target, overwrite=force)
        for image, target in zip(output.images, targets, strict=True)
    ]


def _holds(client: Client, image: Any, target: Path) -> bool:
    """Whether the file ``target`` holds exactly the bytes of ``image`` (compared by size first)."""
    data = client.download_image(image, check=False)
    try:
        return target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data
    except OSError:
        return False


def exists_message(exc: FileExistsError, keep: str) -> str:
    """The message of a file not overwritten: the file, the option that allows it, how to keep the result."""
    return f"{exc.filename} exists: not overwritten (give --force to overwrite it, or another --out); {keep}"


def _option_for(field: str, image_fields: set[str]) -> str:
    """The option (or argument) of ``generate`` that sets an input field: the one named after it
    (``num_images`` -> ``--num-images``, ``prompt`` -> ``PROMPT``), ``--image`` for the contract's image
    inputs, else the field's name."""
    if field in image_fields:
        return "--image"
    for param in command.params:
        if param.name == field:
            return param.opts[0] if isinstance(param, click.Option) else field.upper()
    return f"the field {field}"


def _invalid_input(
    error: ValidationError, image_fields: set[str], sources: dict[str, str] | None = None
) -> NoReturn:
    """Exit 2 naming the option of each field the contract refuses (the local check, nothing was sent);
    ``sources``: the fields set by --input or --input-json, and the option shown for each."""
    lines = []
    for item, field in zip(
        error.detail if isinstance(error.detail, list) else [], error.fields, strict=False
    ):
        top = field.split(".")[0]
        option = (sources or {}).get(top) or _option_for(top, image_fields)
        lines.append(f"invalid value for {option} ({field}): {item.get('msg', 'invalid')}")
    _usage("; ".join(lines) or str(error))


def _shown_url(image: Any) -> str:
    """An output image's URL as a message shows it (a data: URI only by its start)."""
    url = str(getattr(image, "url", ""))
    return url if not url.startswith("data:") else url[:40] + "…"


def _retrying(notice: RetryNotice) -> None:
    _say(f"           {notice}")


class _Progress:
    """Prints each change of the queue status, and new log lines, to stderr; while nothing changes, the
    same line again every ``heartbeat`` seconds, so a long wait always shows progress."""

    def __init__(self, heartbeat: float = 2.0) -> None:
        self.started = time.monotonic()
        self.last: tuple[str, object] | None = None
        self.last_line = "waiting for the provider"
        self.printed = self.started
        self.logs_seen = 0
        self.heartbeat = heartbeat
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def _echo(self, text: str) -> None:
        with self._lock:
            self.last_line = text
            self.printed = time.monotonic()
            _say(f"[{self.printed - self.started:6.1f} s] {text}")

    def __call__(self, status: QueueStatus) -> None:
        position = getattr(status, "queue_position", None)
        key = (status.status, position)
        if key != self.last:
            self.last = key
            if status.status == "IN_QUEUE":
                self._echo(f"in queue, position {position}")
            elif status.status == "IN_PROGRESS":
                self._echo("in progress")
            else:
                self._echo("completed")
        logs = status.logs if isinstance(status.logs, list) else []
        for entry in logs[self.logs_seen :]:
            # a log entry outside the contract (e.g. a bad timestamp) stays the provider's raw dict
            if isinstance(entry, dict):
                level, message = entry.get("level", "?"), entry.get("message", "")
            else:
                level, message = getattr(entry, "level", "?"), getattr(entry, "message", entry)
            _say(f"           {level}: {message}")
        self.logs_seen = max(self.logs_seen, len(logs))

    def tick(self) -> None:
        """Print the last line again (marked "still") if nothing was printed for ``heartbeat`` seconds."""
        if self.last is not None and self.last[0] == "COMPLETED":
            return
        if time.monotonic() - self.printed >= self.heartbeat:
            self._echo("still " + self.last_line.removeprefix("still "))

    def __enter__(self) -> _Progress:
        def beat() -> None:
            while not self._stop.wait(self.heartbeat / 4):
                self.tick()

        threading.Thread(target=beat, name="generate-progress", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


@click.command("generate")
@click.argument("prompt")
@click.option(
    "--image",
    "images",
    multiple=True,
    help="An input image: a file, an https URL or a data: URI (repeat for multi).",
)
@click.option(
    "--endpoint",
    default=None,
    metavar="ENDPOINT_ID",
    help="Any endpoint id of the contract (e.g. fal-ai/flux-pro/kontext/max/multi). Default: from the number of images.",
)
@click.option("--max", "use_max", is_flag=True, help="Use the [max] variant of the chosen endpoint.")
@provider_option(
    choices=[*DOCUMENT_PROVIDERS, "relay"],
    dest="provider_name",
    extra="or relay: any other relay (Bearer; needs --base-url and --key-env).",
)
@base_url_option("the provider document's (fal: https://queue.fal.run).")
@run_base_url_option("the provider document's when --base-url is not given.")
@key_env_option("required with --provider relay.")
@click.option(
    "--name",
    "shown_name",
    default=None,
    metavar="NAME",
    help="The name messages give the provider (with --provider relay: default 'relay').",
)
@click.option(
    "--auth",
    type=click.Choice(["key", "bearer"], case_sensitive=False),
    default=None,
    help="Authorization scheme: key ('Key <key>', fal) or bearer (relays). Default: the provider document's; "
    "bearer for --provider relay.",
)
@click.option("--num-images", type=int, default=None, help="1 to 4 (the contract's range is checked).")
@click.option("--seed", type=int, default=None)
@click.option("--aspect-ratio", default=None, help="e.g. 16:9 (see the contract's AspectRatio).")
@click.option("--output-format", type=click.Choice(["jpeg", "png"]), default=None)
@click.option("--safety-tolerance", default=None, help='"1" (strictest) to "6".')
@click.option("--sync-mode", is_flag=True, help="Ask for the images inline as data: URIs.")
@click.option(
    "--input",
    "inputs",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Any input field of the endpoint, typed by the contract's schema (integer, number, boolean, "
    "string, enum; an array field: one --input per item). Repeatable. Unknown fields are refused.",
)
@click.option(
    "--input-json",
    default=None,
    metavar="FILE|-",
    help="A JSON object of input fields (- : stdin), merged under --input and the other options.",
)
@click.option("--run", "use_run", is_flag=True, help="Use the synchronous API instead of the queue.")
@click.option("--priority", type=click.Choice(["normal", "low"]), default=None)
@seconds_option("--request-timeout", default=None, help="Seconds the job may wait to start.")
@wait_timeout_option(
    dest="timeout",
    default=None,
    help="Seconds for everything (submit, wait, downloads; each request's timeouts are cut to what is "
    "left); then cancel and fail.",
)
@click.option("--logs/--no-logs", default=True, show_default=True, help="Show the job's log lines.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder for the images.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite files in --out that have the names of this request's images (default: exit 2 naming "
    "the file, nothing overwritten).",
)
@generate_journal_options
@root_option
@_exit.documented
def command(
    prompt: str,
    images: tuple[str, ...],
    endpoint: str | None,
    use_max: bool,
    provider_name: str,
    base_url: str | None,
    run_base_url: str | None,
    key_env: str | None,
    shown_name: str | None,
    auth: str | None,
    num_images: int | None,
    seed: int | None,
    aspect_ratio: str | None,
    output_format: str | None,
    safety_tolerance: str | None,
    sync_mode: bool,
    inputs: tuple[str, ...],
    input_json: str | None,
    use_run: bool,
    priority: str | None,
    request_timeout: float | None,
    timeout: float | None,
    logs: bool,
    out_dir: Path,
    force: bool,
    journal_path: Path | None,
    no_journal: bool,
    reuse: bool,
    root: Path | None,
) -> None:
    """Generate or edit images with FLUX.1 Kontext [pro] and save them.

    Submits PROMPT (with --image files or URLs) to the queue, shows the queue position, progress and log
    lines on stderr while waiting (again every 2 s while nothing changes), then saves each image into
    --out as {request_id}-{n}.jpg (--run: run-N-{n}.jpg, N the first number no file uses) and prints its
    path on stdout. An existing file is never overwritten without --force.

    The request is recorded in a journal before it is sent (default: $KONTEXT_JOURNAL, else
    $XDG_STATE_HOME/kontext-contract/journal.sqlite3, else ~/.local/state/kontext-contract/journal.sqlite3):
    if this process dies, `kontext-contract requests resume --all --out DIR` finishes it without paying again.
    """
    started = time.monotonic()
    try:
        provider = _provider(provider_name, base_url, run_base_url, key_env, shown_name, auth)
    except ConfigurationError as exc:  # a provider document the client cannot use
        _usage(str(exc))
    if use_run:
        _check_run(provider, base_url)
    chosen = _endpoint(endpoint, len(images), use_max)
    body: dict[str, Any] = {"prompt": prompt}
    values = [_image_value(v) for v in images]
    # where the images go: the endpoint's inputs marked x-fal-media: image in the contract
    media = catalog().get(chosen).model.image_inputs
    if not media:
        if values:
            raise click.UsageError(f"{chosen} takes no --image")
    else:
        field_name, is_list = next(iter(media.items()))
        if not values:
            pass  # given by --input / --input-json, or missing: the contract check names --image
        elif is_list:
            body[field_name] = values
        elif len(values) != 1:
            raise click.UsageError(f"{chosen} takes exactly one --image")
        else:
            body[field_name] = values[0]
    extras = {
        "num_images": num_images,
        "seed": seed,
        "aspect_ratio": aspect_ratio,
        "output_format": output_format,
        "safety_tolerance": safety_tolerance,
    }
    body.update({k: v for k, v in extras.items() if v is not None})
    if sync_mode:
        body["sync_mode"] = True
    # --input-json under everything, --input over it, the dedicated options over both (and never with --input)
    model = catalog().get(chosen).model  # the endpoint's schemas in the contract model
    from_json, from_inputs, sources = input_fields(inputs, input_json, model, _image_value)
    for field in from_inputs:
        if field in body:
            raise click.BadParameter(
                f"{field} is also set by {_option_for(field, set(media))}: give one of them",
                param_hint=f"--input {field}",
            )
    for field in body:  # set by PROMPT or a dedicated option: errors name that one
        sources.pop(field, None)
    body = {**from_json, **from_inputs, **body}
    options: dict[str, Any] = {}
    if priority:
        options["priority"] = priority
    if request_timeout is not None:
        options["request_timeout"] = request_timeout
    _check_out_dir(out_dir)
    journal = generate_journal(journal_path, no_journal, reuse)
    progress = _Progress()
    # an address that refuses connections fails fast (nothing was sent): 3 attempts within 1.5 s
    retry = RetryPolicy(
        connect_attempts=CONNECT_ATTEMPTS,
        connect_budget=CONNECT_BUDGET,
        total_timeout=timeout or RetryPolicy.total_timeout,
    )
    # --timeout covers everything: what is left of it caps every request's timeouts (time_limit)
    left = None if timeout is None else max(0.001, timeout - (time.monotonic() - started))
    try:
        with (
            Client(
                provider,
                retry=retry,
                on_retry=_retrying,
                journal=journal,
                allow_extra_fields=allows_extra_fields(model),
            ) as client,
            client.time_limit(left),
            progress,
        ):
            _say(f"{chosen} on {provider.name} ({provider.queue_base_url})")
            ids: list[str] = []
            if use_run:
                stem = _run_stem(out_dir)
                output: Any = client.run(chosen, body, request_timeout=request_timeout)
            else:

                def enqueued(rid: str) -> None:
                    ids.append(rid)
                    _say(f"request {rid}")
                    if journal is not None:
                        _say(
                            f"           recorded in {journal.location}; if this process dies, "
                            f"`kontext-contract requests resume {rid}` finishes it"
                        )

                output = client.subscribe(
                    chosen,
                    body,
                    with_logs=logs,
                    on_enqueue=enqueued,
                    on_queue_update=progress,
                    timeout=left,
                    reuse=reuse,
                    **options,
                )
                stem = _file_stem(ids[0]) if ids else "request"
            try:
                saved = save_images(client, output, image_targets(output, out_dir, stem), force=force)
            except FileExistsError as exc:
                where = ids[0] if not use_run and ids else None
                keep = (
                    f"the result is kept in the journal: `kontext-contract requests resume {where} --out DIR`"
                    if journal is not None and where
                    else "the images: " + ", ".join(_shown_url(i) for i in output.images)
                )
                _usage(exists_message(exc, keep))
            except OSError as exc:
                _say(f"error: cannot write {exc.filename}: {exc.strerror or type(exc).__name__}")
                sys.exit(_exit.FAILED)
            for path in saved:
                _say(str(path), err=False)
            _say(f"seed {output.seed}, {len(output.images)} image(s)")
    except ValidationError as exc:
        if exc.status_code is None:  # the contract refused the input before anything was sent
            _invalid_input(exc, set(media), sources)
        _say(f"error: {type(exc).__name__}: {exc}")
        sys.exit(_exit.FAILED)
    except JournalError as exc:  # the journal cannot record the request: nothing was sent
        _usage(str(exc))
    except UnreachableError as exc:  # nothing was sent: a usage or connection error, as in `check`
        _usage(
            f"cannot reach {provider.name} at {exc.url}: {exc}. Check --base-url"
            f"{' and --run-base-url' if use_run else ''}, or the network"
        )
    except AuthenticationError as exc:  # 401, or 403 (PermissionDeniedError): as `check`, a usage error
        _usage(
            f"{provider.name} refused the key from {_key_names(provider_name, key_env)} (HTTP {exc.status_code}"
            f"{', forbidden: the key may lack access or the account its balance' if exc.status_code == 403 else ''}"
            f"): {exc}. Check that variable, or name another with --key-env"
        )
    except KontextError as exc:
        _say(f"error: {type(exc).__name__}: {exc}")
        sys.exit(_exit.FAILED)
    except KeyboardInterrupt:
        _say("interrupted; a request already in the queue was asked to cancel")
        sys.exit(_exit.INTERRUPTED)
    finally:
        if journal is not None:
            journal.close()
