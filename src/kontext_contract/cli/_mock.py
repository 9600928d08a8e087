"""``kontext-contract mock``: serve the stateful mock with uvicorn in the foreground."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
import uvicorn

from ..contract import ContractError
from ..mock._app import create_app
from ..mock._config import (
    PROVIDERS,
    WEBHOOK_FAULT_KINDS,
    FaultConfig,
    MockConfig,
    MockConfigError,
    default_key,
)
from ..mock._server import bind_socket, uvicorn_config
from ._errors import field_error
from ._options import check_url, provider_option, root_option

__all__ = ["command"]

F = TypeVar("F", bound=Callable[..., Any])


def _rate(name: str) -> Callable[[F], F]:
    return click.option(
        f"--fault-{name}",
        f"fault_{name}",
        type=click.FloatRange(0.0, 1.0),
        default=0.0,
        show_default=True,
        help=f"Probability per request of a {name} fault.",
    )


#: the settings (MockConfig, FaultConfig fields) whose option is not named after them
_OPTIONS = {
    "base_url": "--public-url",
    "seed": "--fault-seed",
    "webhook_faults": "--webhook-fault",
    **{f"rate_{kind}": f"--fault-{kind}" for kind in ("429", "502", "503", "504", "drop")},
}


@click.command("mock")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (keep it loopback)."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="TCP port; 0 picks a free one.",
)
@provider_option(choices=PROVIDERS, extra="the profile the mock emulates.")
@click.option(
    "--key", default=None, help="The key to accept (default: the mock's own test key of the profile)."
)
@click.option(
    "--public-url",
    default=None,
    metavar="URL",
    help="The mock's own URL as clients reach it (e.g. behind a proxy), used in the URLs it returns. "
    "Default: from each request's Host.",
)
@click.option(
    "--queue-delay", type=click.FloatRange(0.0), default=0.0, show_default=True, help="Seconds IN_QUEUE."
)
@click.option(
    "--processing-delay",
    type=click.FloatRange(0.0),
    default=0.0,
    show_default=True,
    help="Seconds IN_PROGRESS.",
)
@click.option(
    "--deterministic", is_flag=True, help="Sequential ids, fixed seeds, virtual clock (see docs/mock.md)."
)
@_rate("429")
@_rate("502")
@_rate("503")
@_rate("504")
@_rate("drop")
@click.option(
    "--retry-after",
    type=click.IntRange(0),
    default=1,
    show_default=True,
    help="Retry-After of 429 faults, seconds.",
)
@click.option("--fault-seed", type=int, default=0, show_default=True, help="Seed of the fault draws.")
@click.option(
    "--max-body-bytes",
    type=click.IntRange(0),
    default=32 * 1024 * 1024,
    show_default=True,
    help="Largest body, bytes.",
)
@click.option(
    "--request-ttl",
    type=click.FloatRange(0.0),
    default=600.0,
    show_default=True,
    help="Seconds finished requests are kept.",
)
@click.option(
    "--webhook-allow-host",
    "webhook_allow_hosts",
    multiple=True,
    help="A host webhooks may go to besides loopback.",
)
@click.option(
    "--webhook-key",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="PEM file of the ED25519 key that signs webhooks (default: a new key per start); "
    "its public key is served at /.well-known/jwks.json.",
)
@click.option(
    "--webhook-fault",
    "webhook_faults",
    type=click.Choice(WEBHOOK_FAULT_KINDS),
    multiple=True,
    help="Deliver every webhook with this fault (repeatable).",
)
@click.option(
    "--webhook-retry-compression",
    type=click.FloatRange(1.0),
    default=1000.0,
    show_default=True,
    help="fal retries a failed webhook 10 times over 2 hours; wait that divided by this factor.",
)
@click.option(
    "--max-upload-bytes",
    type=click.IntRange(0),
    default=32 * 1024 * 1024,
    show_default=True,
    help="Largest uploaded file (storage emulation), bytes.",
)
@click.option(
    "--sse-ping-interval",
    type=click.FloatRange(0.001),
    default=15.0,
    show_default=True,
    help="Seconds between SSE pings.",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="uvicorn's access log (never has headers).",
)
@root_option
def command(
    host: str,
    port: int,
    provider: str,
    key: str | None,
    public_url: str | None,
    queue_delay: float,
    processing_delay: float,
    deterministic: bool,
    fault_429: float,
    fault_502: float,
    fault_503: float,
    fault_504: float,
    fault_drop: float,
    retry_after: int,
    fault_seed: int,
    max_body_bytes: int,
    request_ttl: float,
    webhook_allow_hosts: tuple[str, ...],
    webhook_key: str | None,
    webhook_faults: tuple[str, ...],
    webhook_retry_compression: float,
    max_upload_bytes: int,
    sse_ping_interval: float,
    access_log: bool,
    root: object,
) -> None:
    """Serve the stateful mock of fal's queue and synchronous APIs (docs/mock.md).

    Prints its base URL, the provider profile and the key it accepts, then serves until interrupted
    (Ctrl-C). Point a client at it with --base-url on the other subcommands, e.g.
    `FAL_KEY=mock-key-id:mock-key-secret kontext-contract check --base-url http://127.0.0.1:8765` (the
    key it accepts: see above, or --key).

    Exit status: 0 stopped by Ctrl-C; 2 usage error (a bad option, no provider document, or cannot listen
    on --host/--port: the address is in use or not this machine's).
    """
    if public_url is not None:
        check_url("--public-url", public_url)
    try:
        faults = FaultConfig(
            rate_429=fault_429,
            retry_after=retry_after,
            rate_502=fault_502,
            rate_503=fault_503,
            rate_504=fault_504,
            rate_drop=fault_drop,
            seed=fault_seed,
        )
        config = MockConfig(
            provider=provider,
            key=key,
            base_url=public_url,
            queue_delay=queue_delay,
            processing_delay=processing_delay,
            deterministic=deterministic,
            faults=faults,
            max_body_bytes=max_body_bytes,
            request_ttl=request_ttl,
            webhook_allow_hosts=webhook_allow_hosts,
            webhook_key=webhook_key,
            webhook_faults=webhook_faults,
            webhook_retry_compression=webhook_retry_compression,
            max_upload_bytes=max_upload_bytes,
            sse_ping_interval=sse_ping_interval,
        )
        app = create_app(config)
    except MockConfigError as exc:
        raise field_error(exc.field, exc.problem, _OPTIONS) from None
    except (ValueError, ContractError, FileNotFoundError) as exc:
        raise click.UsageError(str(exc)) from None
    try:
        sock = bind_socket(host, port)
    except OSError as exc:  # in use, not an address of this machine, not a host name: bad --host/--port
        reason = exc.strerror or type(exc).__name__
        click.echo(f"error: --host/--port: cannot listen on {host}:{port}: {reason}", err=True)
        sys.exit(2)
    real_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    base = config.base_url or f"http://{shown_host}:{real_port}"
    scheme = app.model.provider.auth_scheme
    if key is None:
        accepted = f"Authorization: {scheme} {default_key(scheme)}"
    else:
        accepted = f"Authorization: {scheme} <the --key value, {len(key)} characters, not shown>"
    click.echo(f"kontext-contract mock on {base}")
    click.echo(f"  provider profile: {config.provider} (openapi/providers/{config.provider}.openapi.yaml)")
    click.echo(f"  accepts:          {accepted}")
    click.echo(
        f"  queue:            POST {base}/<endpoint_id>, e.g. {base}/{next(iter(app.model.endpoints))}"
    )
    if app.model.provider.sync_api:
        click.echo(f"  synchronous:      POST {base}/run/<endpoint_id>")
    click.echo(f"  webhook keys:     GET {base}/.well-known/jwks.json (kid {app.mock.signer.kid})")
    click.echo(f"  storage:          POST {base}/storage/upload/initiate, POST {base}/files/upload")
    click.echo(f"  stats:            GET {base}/_mock/stats")
    if webhook_faults:
        click.echo(f"  webhook faults:   {', '.join(webhook_faults)}")
    if faults.any:
        click.echo(
            f"  faults:           429 {fault_429}, 502 {fault_502}, 503 {fault_503}, 504 {fault_504}, drop {fault_drop}"
        )
    sys.stdout.flush()
    server = uvicorn.Server(uvicorn_config(app, access_log=access_log, log_level="info"))
    server.run(sockets=[sock])
