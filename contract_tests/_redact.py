"""Keeping provider keys out of every report: the values of the key variables the provider documents name
(``info.x-provider.auth.key_env`` and ``key_env_pair``), and any ``Authorization`` header value."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ._harness import PROVIDERS, provider_facts

__all__ = ["MASK", "key_variables", "redact", "redact_headers", "secrets"]

MASK = "[REDACTED]"
_AUTH_VALUE = re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(key|bearer)\s+[^\s\"',}]+")


def key_variables() -> list[str]:
    """Every environment variable a provider document names for its key (FAL_KEY, FAL_KEY_ID, ...)."""
    names: list[str] = []
    for provider in PROVIDERS:
        facts = provider_facts(provider)
        for name in [facts.key_env, *(facts.key_env_pair or ())]:
            if isinstance(name, str) and name not in names:
                names.append(name)
    return names


def secrets(environ: Mapping[str, str] | None = None, extra: Iterable[str] = ()) -> list[str]:
    """The secret values to scrub: the key variables' values (4 characters or more), the fal pair joined
    with ``:``, and ``extra``; longest first so that a key containing another is replaced whole."""
    env = os.environ if environ is None else environ
    values = {env[name] for name in key_variables() if len(env.get(name, "")) >= 4}
    for provider in PROVIDERS:
        pair = provider_facts(provider).key_env_pair
        if pair and env.get(pair[0]) and env.get(pair[1]):
            values.add(f"{env[pair[0]]}:{env[pair[1]]}")
    values.update(value for value in extra if len(value) >= 4)
    return sorted(values, key=len, reverse=True)


def redact(text: str, keys: Iterable[str]) -> str:
    """``text`` with every key replaced by :data:`MASK`, and ``Authorization: Key|Bearer <value>`` masked."""
    for key in keys:
        text = text.replace(key, MASK)
    return _AUTH_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)} {MASK}", text)


def redact_headers(headers: Mapping[str, Any], keys: Iterable[str]) -> dict[str, str]:
    """Headers for a report: ``Authorization`` masked whatever its value, every other value scrubbed."""
    keys = list(keys)
    out: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() in ("authorization", "cookie", "set-cookie"):
            scheme = str(value).split(" ", 1)[0] if " " in str(value) else ""
            out[name] = f"{scheme} {MASK}".strip()
        else:
            out[name] = redact(str(value), keys)
    return out
