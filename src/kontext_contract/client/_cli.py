"""``kontext-contract generate``: submit a prompt (and images), show the queue while waiting, save the results.

Exit status: 0 the images were saved; 1 the provider or the input failed (the message says why);
2 usage error; 130 interrupted (the request was cancelled first).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from ._client import Client
from ._core import QueueStatus, Timeouts
from ._endpoints import Endpoint, catalog
from ._errors import ConfigurationError, KontextError
from ._images import extension_for, to_data_uri
from ._providers import Provider
from ._retry import RetryPolicy

__all__ = ["generate_command"]

_DOCUMENT_PROVIDERS = ("relay-a", "chainhub", "relay-b")


def _provider(name: str, base_url: str | None, run_url: str | None, key_env: str | None) -> Provider:
    if name == "fal":
        provider = Provider.fal(queue_base_url=base_url, run_base_url=run_url)
        # another queue host without --run-url: no synchronous API there
        return provider.with_options(run_base_url=None) if base_url and not run_url else provider
    if name == "relay":
        if not base_url:
            raise click.UsageError("--provider relay needs --base-url")
        return Provider.relay(base_url, key_env=key_env or "RELAY_KEY", run_base_url=run_url)
    if key_env:
        raise click.UsageError(
            f"--key-env is read from the {name} provider document; drop it or use --provider relay"
        )
    return Provider.from_document(name, base_url=base_url)


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
    if value.startswith(("http://", "https://", "data:")):
        return value
    path = Path(value)
    if not path.is_file():
        raise click.BadParameter(f"{value!r} is neither a URL nor a file", param_hint="--image")
    return to_data_uri(path)


class _Progress:
    """Prints each change of the queue status, and new log lines, to stderr."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last: tuple[str, object] | None = None
        self.logs_seen = 0

    def __call__(self, status: QueueStatus) -> None:
        position = getattr(status, "queue_position", None)
        key = (status.status, position)
        elapsed = time.monotonic() - self.started
        if key != self.last:
            self.last = key
            if status.status == "IN_QUEUE":
                click.echo(f"[{elapsed:6.1f} s] in queue, position {position}", err=True)
            elif status.status == "IN_PROGRESS":
                click.echo(f"[{elapsed:6.1f} s] in progress", err=True)
            else:
                click.echo(f"[{elapsed:6.1f} s] completed", err=True)
        logs = status.logs if isinstance(status.logs, list) else []
        for entry in logs[self.logs_seen :]:
            click.echo(f"           {entry.level}: {entry.message}", err=True)
        self.logs_seen = max(self.logs_seen, len(logs))


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
@click.option(
    "--provider",
    "provider_name",
    type=click.Choice(["fal", "relay", *_DOCUMENT_PROVIDERS]),
    default="fal",
    show_default=True,
    help="fal (FAL_KEY), relay (Bearer, --base-url, --key-env), or a documented relay (its provider document).",
)
@click.option(
    "--base-url", default=None, help="Queue base URL (fal default: https://queue.fal.run; e.g. a local mock)."
)
@click.option("--run-url", default=None, help="Synchronous API base URL (fal default: https://fal.run).")
@click.option(
    "--key-env", default=None, help="For --provider relay: the variable holding the key (default RELAY_KEY)."
)
@click.option("--num-images", type=int, default=None, help="1 to 4.")
@click.option("--seed", type=int, default=None)
@click.option("--aspect-ratio", default=None, help="e.g. 16:9 (see the contract's AspectRatio).")
@click.option("--output-format", type=click.Choice(["jpeg", "png"]), default=None)
@click.option("--safety-tolerance", default=None, help='"1" (strictest) to "6".')
@click.option("--sync-mode", is_flag=True, help="Ask for the images inline as data: URIs.")
@click.option("--run", "use_run", is_flag=True, help="Use the synchronous API instead of the queue.")
@click.option("--priority", type=click.Choice(["normal", "low"]), default=None)
@click.option("--request-timeout", type=float, default=None, help="Seconds the job may wait to start.")
@click.option("--timeout", type=float, default=None, help="Seconds to wait in all; then cancel and fail.")
@click.option("--logs/--no-logs", default=True, show_default=True, help="Show the job's log lines.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder for the images.",
)
def generate_command(
    prompt: str,
    images: tuple[str, ...],
    endpoint: str | None,
    use_max: bool,
    provider_name: str,
    base_url: str | None,
    run_url: str | None,
    key_env: str | None,
    num_images: int | None,
    seed: int | None,
    aspect_ratio: str | None,
    output_format: str | None,
    safety_tolerance: str | None,
    sync_mode: bool,
    use_run: bool,
    priority: str | None,
    request_timeout: float | None,
    timeout: float | None,
    logs: bool,
    out_dir: Path,
) -> None:
    """Generate or edit images with FLUX.1 Kontext [pro] and save them.

    Submits PROMPT (with --image files or URLs) to the queue, shows the queue position, progress and log
    lines on stderr while waiting, then saves each image into --out and prints its path on stdout.
    """
    try:
        provider = _provider(provider_name, base_url, run_url, key_env)
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
            if is_list:
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
        options: dict[str, Any] = {}
        if priority:
            options["priority"] = priority
        if request_timeout is not None:
            options["request_timeout"] = request_timeout
        progress = _Progress()
        retry = RetryPolicy(total_timeout=timeout) if timeout else RetryPolicy()
        with Client(provider, timeouts=Timeouts(run=timeout), retry=retry) as client:
            click.echo(f"{chosen} on {provider.name} ({provider.queue_base_url})", err=True)
            if use_run:
                output: Any = client.run(chosen, body, request_timeout=request_timeout)
                request_id = "run"
            else:
                ids: list[str] = []

                def enqueued(rid: str) -> None:
                    ids.append(rid)
                    click.echo(f"request {rid}", err=True)

                output = client.subscribe(
                    chosen,
                    body,
                    with_logs=logs,
                    on_enqueue=enqueued,
                    on_queue_update=progress,
                    timeout=timeout,
                    **options,
                )
                request_id = ids[0] if ids else "request"
            out_dir.mkdir(parents=True, exist_ok=True)
            for index, image in enumerate(output.images):
                content_type = image.content_type if isinstance(image.content_type, str) else "image/jpeg"
                target = out_dir / f"{request_id}-{index}{extension_for(content_type)}"
                path = client.save_image(image, target)
                click.echo(str(path))
            click.echo(f"seed {output.seed}, {len(output.images)} image(s)", err=True)
    except KontextError as exc:
        click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted; a request already in the queue was asked to cancel", err=True)
        sys.exit(130)
