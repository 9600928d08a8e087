"""The HTML report of a run (``check --report-html PATH``) and the matrix as a page (``matrix --report-html``).

One self-contained file a person can open anywhere: the CSS is inline, the images are ``data:`` URIs
(thumbnails, :mod:`._evidence`), nothing is loaded from the network (the page's Content-Security-Policy
forbids it). Rendered by Jinja2 with autoescaping on, so nothing a provider answers can inject markup;
every text passes through the run's redactor before it is written.

For each check: its rule, the verdict, the evidence (the request, what the contract expects, the answer),
and for a FAIL one plain sentence on what it means for a user (:mod:`._meanings`). The images the provider
returned sit beside a box with the aspect ratio and the format the contract implies for the input sent.
The cost section says what the run paid: paid submits and output images, and fal's published price per
image where fal publishes one (:data:`FAL_PRICES`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from ._checks import ALL_CHECKS
from ._evidence import ImageEvidence
from ._meanings import fail_means
from ._model import Report

__all__ = ["FAL_PRICES", "Price", "render_html", "render_matrix_html", "write_html"]

_TEMPLATES = Path(__file__).with_name("templates")
#: how far an image's width:height may be from the asked ratio and still read "matches" (as the check)
_RATIO_TOLERANCE = 0.06


@dataclass(frozen=True)
class Price:
    """A price fal publishes for an endpoint: US dollars per output image, and where it says so."""

    usd_per_image: float
    source: str


#: fal's published prices per image, by endpoint id, as found on fal's model pages; an endpoint missing here
#: has no per-image price in what was found (docs/checks.md "What a run costs")
FAL_PRICES: dict[str, Price] = {
    "fal-ai/flux-pro/kontext": Price(0.04, "https://fal.ai/models/fal-ai/flux-pro/kontext/llms.txt"),
}


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _cost(report: Report) -> list[str]:
    lines: list[str] = []
    if report.replay is not None:
        lines.append(
            "This is a replay: nothing was sent and nothing was paid now. The recorded run paid "
            f"{report.replay.get('recorded_paid_submits', '?')} submit(s) and made "
            f"{report.replay.get('recorded_images', '?')} image(s)."
        )
    elif report.mock:
        lines.append(
            f"The embedded mock: nothing was paid ({report.paid_submits} submits and "
            f"{report.images_downloaded} images would be paid on a live provider)."
        )
    else:
        lines.append(
            f"Paid submits: {report.paid_submits} (cap --max-paid-submits {report.max_paid_submits}); output "
            f"images made and fetched: {report.images_downloaded}."
        )
    images = report.images_downloaded if report.replay is None else report.replay.get("recorded_images")
    for endpoint in report.endpoints:
        price = FAL_PRICES.get(endpoint)
        if price is None:
            lines.append(f"fal publishes no price per image for {endpoint} in what was found.")
            continue
        text = f"fal's published price for {endpoint}: ${price.usd_per_image:.2f} per image ({price.source})"
        if isinstance(images, int) and len(report.endpoints) == 1:
            text += f"; {images} image(s) at that price: ${images * price.usd_per_image:.2f}"
        if report.provider != "fal":
            text += f". {report.provider} sets its own price, which the checks do not know"
        lines.append(text + ".")
    return lines


def _image_view(image: ImageEvidence) -> dict[str, Any]:
    want = image.expected_ratio
    ratio = image.ratio
    ratio_ok = ratio is not None and (want is None or abs(ratio - want) / want <= _RATIO_TOLERANCE)
    fmt = (image.asked_format or "").lower()
    wanted_type = {"jpg": "image/jpeg", "jpeg": "image/jpeg"}.get(fmt, f"image/{fmt}" if fmt else None)
    format_ok = image.decoded is not None and (wanted_type is None or image.decoded == wanted_type)
    css = (image.asked_aspect or "1:1").replace(":", " / ")
    return {
        **image.__dict__,
        "ratio": ratio,
        "expected_ratio": want,
        "ratio_ok": ratio_ok,
        "format_ok": format_ok,
        "expected_css": css,
    }


def render_html(report: Report, redact: Callable[[str], str] = str) -> str:
    """The HTML report of ``report``: one self-contained page (inline CSS, images as data: URIs), every text
    passed through ``redact`` once more."""
    by_name = {c.name: c for c in ALL_CHECKS}
    checks: list[dict[str, Any]] = []
    for index, result in enumerate(report.results, 1):
        check = by_name.get(result.name)
        checks.append(
            {
                "index": index,
                "result": result,
                "rule": check.rule.replace("``", "") if check else "",
                "source": check.source if check else "",
                "means": fail_means(result.name),
            }
        )
    verdict_class = "incomplete" if not report.complete else "ok" if report.compatible else "bad"
    replay_file = Path(str(report.replay.get("file"))).name if report.replay else ""
    page = (
        _environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            counts=report.counts(),
            checks=checks,
            failures=[c for c, r in zip(checks, report.results, strict=True) if r.status == "fail"],
            images=[_image_view(i) for i in report.images],
            cost=_cost(report),
            verdict_class=verdict_class,
            replay_file=replay_file,
        )
    )
    return redact(page)


def render_matrix_html(rows: Sequence[Any], *, origin: str) -> str:
    """The compatibility matrix as a page: one row per check, one column per provider (``MatrixRow``s),
    then why each FAIL and SKIP, with what a FAIL means for a user. ``origin`` says where the columns come
    from (the mock's emulations, or recordings)."""
    columns = []
    for row in rows:
        report = row.report
        verdict = (
            "incomplete"
            if not report.complete
            else ("compatible" if report.compatible else f"{len(report.failures)} FAIL")
        )
        columns.append(
            {
                "name": report.provider,
                "where": "embedded mock" if report.mock else report.base_url,
                "endpoints": ", ".join(report.endpoints),
                "compatible": report.compatible,
                "verdict": verdict,
            }
        )
    table = []
    for check in ALL_CHECKS:
        cells = []
        for row in rows:
            result = next((r for r in row.report.results if r.name == check.name), None)
            cells.append(
                {
                    "provider": row.report.provider,
                    "status": result.status if result else "-",
                    "text": result.evidence.text() if result else "not in this run",
                }
            )
        table.append({"name": check.name, "rule": check.rule.replace("``", ""), "cells": cells})
    why = [
        {
            "provider": row.report.provider,
            "check": r.name,
            "status": r.status,
            "text": r.evidence.text(),
            "means": fail_means(r.name) if r.status == "fail" else "",
        }
        for row in rows
        for r in row.report.results
        if r.status != "pass"
    ]
    return (
        _environment()
        .get_template("matrix.html.j2")
        .render(columns=columns, rows=table, why=why, origin=origin)
    )


def write_html(path: Path, page: str) -> None:
    """Write a page through a temporary file and a rename.

    Raises:
        OSError: it cannot be written (nothing is left behind).
    """
    from ..pipeline import write_atomic

    write_atomic(path, page)
