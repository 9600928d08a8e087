"""The one list of providers: the provider documents the build wrote (``openapi/providers/*.openapi.yaml``).

A provider is added by adding its overlay (``overlays/providers/<name>.overlay.yaml``) and running
``kontext-contract spec build``: the mock's profiles, ``check --provider``, ``generate --provider``, the
matrix and the contract suite then know it (docs/pipeline.md "What follows a contract change by itself").
"""

from __future__ import annotations

from .._layout import Layout
from ._document import ContractError, load_document
from ._model import ProviderFacts

__all__ = ["providers"]


def providers(layout: Layout | None = None) -> tuple[str, ...]:
    """The names of the providers of the contract the library reads (or of ``layout``'s project).

    Order: the providers serving their own queue (``x-provider.queue_urls.host: own``: fal) first, then by
    the seed documents that describe them (``x-provider.documented_by``), then by name; so fal, relay-a,
    chainhub, relay-b today. A document that cannot be read is listed last (loading it names the problem).

    Returns:
        The names (``fal``, ``relay-a``, ...); empty for a broken install without a contract.
    """
    try:
        layout = layout or Layout.shipped()
    except FileNotFoundError:
        return ()
    keyed: list[tuple[tuple[int, str, str], str]] = []
    for path in layout.providers_dir.glob("*.openapi.yaml"):
        name = path.name.removesuffix(".openapi.yaml")
        try:
            facts = ProviderFacts.read(load_document(path))
        except ContractError:
            keyed.append(((2, "~", name), name))
            continue
        seeds = sorted(facts.documented_by)
        keyed.append(((0 if facts.queue_urls_host == "own" else 1, seeds[0] if seeds else "~", name), name))
    return tuple(name for _key, name in sorted(keyed))
