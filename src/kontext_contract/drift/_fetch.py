"""Intake: download fal's per-endpoint OpenAPI documents, and the sources whose manifest entry names a URL,
into a folder for ``sources check --from DIR`` (docs/pipeline.md "Intake from fal's publications").

fal publishes one machine-readable OpenAPI document per endpoint at
``https://fal.ai/api/openapi/queue/openapi.json?endpoint_id=<endpoint id>``: fal-js reads it in
``fetchEndpointSchemas`` (libs/client/src/schema.ts: the input schema of ``POST /{endpoint_id}``, the output
of ``GET /{endpoint_id}/requests/{request_id}``). The endpoint ids are the contract's (the contract model).

Every answer is checked before anything is written; a bad one is a :class:`FetchError` naming the URL and
what was wrong (exit 2): a status other than 200 (404, 5xx), a redirect to another host, HTML or any media
type that is not JSON, a body over :data:`MAX_DOCUMENT_BYTES`, a body shorter or longer than its
Content-Length (or a connection closed mid-body), a timeout, JSON that is not an OpenAPI 3 document, or a
document that does not describe the endpoint asked for. The folder is written all or nothing: every file is
downloaded into a temporary folder beside it, and moved in only when all succeeded.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

from ..pipeline import Manifest, SpecError

__all__ = [
    "DEFAULT_FAL_OPENAPI_URL",
    "FAL_OPENAPI_PREFIX",
    "FAL_OPENAPI_URL_ENV",
    "MAX_DOCUMENT_BYTES",
    "FetchError",
    "Fetched",
    "check_openapi",
    "fal_openapi_name",
    "fal_openapi_url",
    "fetch_sources",
]

#: fal's per-endpoint OpenAPI (fal-js libs/client/src/schema.ts, ``fetchEndpointSchemas``)
DEFAULT_FAL_OPENAPI_URL = "https://fal.ai/api/openapi/queue/openapi.json"
#: overrides :data:`DEFAULT_FAL_OPENAPI_URL` (tests point it at a loopback server)
FAL_OPENAPI_URL_ENV = "KONTEXT_FAL_OPENAPI_URL"
#: the largest answer taken (fal's per-endpoint documents are 10-40 KB)
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024


class FetchError(SpecError):
    """A download could not be taken: the message names the URL, what was expected and what was found."""


@dataclass(frozen=True)
class Fetched:
    """One downloaded document: its file name in the folder, the URL, its size in bytes, what it is for."""

    name: str
    url: str
    size: int
    endpoint_id: str | None


#: how a per-endpoint OpenAPI document is named in a fetched folder
FAL_OPENAPI_PREFIX = "fal-openapi."


def fal_openapi_name(endpoint_id: str) -> str:
    """The file name of an endpoint's per-endpoint OpenAPI in a fetched folder:
    ``fal-openapi.fal-ai--flux-pro--kontext.json``."""
    return FAL_OPENAPI_PREFIX + endpoint_id.replace("/", "--") + ".json"


def fal_openapi_url(endpoint_id: str, base_url: str | None = None) -> str:
    """The URL of an endpoint's per-endpoint OpenAPI (``base_url``, else ``$KONTEXT_FAL_OPENAPI_URL``, else
    fal's)."""
    base = base_url or os.environ.get(FAL_OPENAPI_URL_ENV) or DEFAULT_FAL_OPENAPI_URL
    return f"{base}?endpoint_id={quote(endpoint_id, safe='')}"


def _error(message: str, url: str, expected: str, found: str) -> FetchError:
    return FetchError(message, file=url, expected=expected, found=found[:300])


def _download(http: httpx.Client, url: str) -> bytes:
    """GET ``url``, following at most :data:`MAX_REDIRECTS` redirects on the same host; the checked body."""
    host = urlsplit(url).hostname
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            with http.stream("GET", current, headers={"Accept": "application/json"}) as response:
                if response.is_redirect:
                    target = urljoin(current, response.headers.get("location", ""))
                    if urlsplit(target).hostname != host:
                        raise _error(
                            "redirected to another host: refused",
                            url,
                            f"an answer from {host}, or a redirect on it",
                            f"{response.status_code} to {target}",
                        )
                    current = target
                    continue
                return _body(response, url)
        except httpx.TimeoutException as exc:
            raise _error(
                "timed out", url, f"an answer within {http.timeout.read} s", type(exc).__name__
            ) from None
        except httpx.TransportError as exc:
            raise _error(
                "partial download, or no connection: the transfer broke off before the whole answer",
                url,
                "a complete answer",
                f"{type(exc).__name__}: {exc}",
            ) from None
    raise _error("too many redirects", url, f"at most {MAX_REDIRECTS}", f"more, last to {current}")


def _body(response: httpx.Response, url: str) -> bytes:
    if response.status_code != 200:
        raise _error(
            f"answered {response.status_code}",
            url,
            "200 with the endpoint's OpenAPI document",
            f"{response.status_code} {response.reason_phrase}",
        )
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise _error(
            "not JSON" + (" (an HTML page: a login wall, an error page?)" if "html" in media else ""),
            url,
            "Content-Type: application/json",
            f"Content-Type: {media or '(none)'}",
        )
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_DOCUMENT_BYTES:
        raise _error("too large", url, f"at most {MAX_DOCUMENT_BYTES} bytes", f"Content-Length {declared}")
    body = bytearray()
    for chunk in response.iter_raw(_CHUNK):
        body += chunk
        if len(body) > MAX_DOCUMENT_BYTES:
            raise _error(
                "too large", url, f"at most {MAX_DOCUMENT_BYTES} bytes", f"more than {len(body)} bytes"
            )
    if declared is not None and declared.isdigit() and int(declared) != len(body):
        raise _error(
            "partial download: the body is not as long as its Content-Length",
            url,
            f"{declared} bytes",
            f"{len(body)} bytes",
        )
    return bytes(body)


def check_openapi(raw: bytes, url: str, endpoint_id: str | None) -> None:
    """Check that ``raw`` is an OpenAPI 3 JSON document with ``POST /{endpoint_id}``.

    Raises:
        FetchError: naming ``url``, what was expected and found.
    """
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _error("not JSON", url, "a JSON document", f"{exc}; starting {raw[:40]!r}") from None
    if not (
        isinstance(doc, Mapping)
        and str(doc.get("openapi", "")).startswith("3.")
        and isinstance(doc.get("paths"), Mapping)
    ):
        found = f"keys {sorted(doc)[:10]}" if isinstance(doc, Mapping) else type(doc).__name__
        raise _error("not an OpenAPI 3 document", url, "a mapping with openapi: 3.x and paths", found)
    if endpoint_id is not None:
        op = (doc["paths"].get(f"/{endpoint_id}") or {}).get("post")
        if not isinstance(op, Mapping):
            raise _error(
                "the document does not describe the endpoint asked for",
                url,
                f"POST /{endpoint_id} in paths (fal-js fetchEndpointSchemas reads its input there)",
                f"paths {sorted(doc['paths'])[:6]}",
            )


def _targets(
    manifest: Manifest, endpoint_ids: Iterable[str], base_url: str | None
) -> list[tuple[str, str, str | None]]:
    ids = list(endpoint_ids)
    out: list[tuple[str, str, str | None]] = [
        (fal_openapi_name(e), fal_openapi_url(e, base_url), e) for e in ids
    ]
    for source in manifest.sources:
        covered = source.kind == "fal-openapi" and all(ep.endpoint_id in ids for ep in source.endpoints)
        if source.url and not covered:
            out.append((source.published_name, source.url, None))
    return out


def fetch_sources(
    manifest: Manifest,
    endpoint_ids: Iterable[str],
    dest: Path,
    *,
    base_url: str | None = None,
    timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> list[Fetched]:
    """Download the per-endpoint OpenAPI of each of ``endpoint_ids`` and every source whose manifest entry
    names a ``url`` into ``dest`` (created if missing).

    Args:
        base_url: fal's per-endpoint OpenAPI URL without its query (default: ``$KONTEXT_FAL_OPENAPI_URL``,
            else :data:`DEFAULT_FAL_OPENAPI_URL`).
        timeout: seconds for connecting and for each read.

    Returns:
        what was written, one entry per file.

    Raises:
        FetchError: any bad answer (see the module docstring); nothing is written then.
    """
    targets = _targets(manifest, endpoint_ids, base_url)
    if not dest.parent.is_dir() or (dest.exists() and not dest.is_dir()):
        raise FetchError(
            "cannot write the folder",
            file=dest,
            expected="a folder, or a new name in an existing folder",
            found="a file" if dest.exists() else f"no folder {dest.parent}",
        )
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.fetch-", dir=dest.parent))
    fetched: list[Fetched] = []
    try:
        with httpx.Client(
            timeout=httpx.Timeout(timeout), follow_redirects=False, transport=transport
        ) as http:
            for name, url, endpoint_id in targets:
                raw = _download(http, url)
                if endpoint_id is not None:
                    check_openapi(raw, url, endpoint_id)
                (staging / name).write_bytes(raw)
                fetched.append(Fetched(name=name, url=url, size=len(raw), endpoint_id=endpoint_id))
        if not dest.exists():
            os.replace(staging, dest)  # the whole folder at once
        else:
            for item in fetched:
                os.replace(staging / item.name, dest / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return fetched


def describe(fetched: list[Fetched]) -> list[dict[str, Any]]:
    """The fetched files as JSON-ready records."""
    return [vars(f) for f in fetched]
