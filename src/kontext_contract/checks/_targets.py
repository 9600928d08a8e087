"""Relays without a provider document, as first-class targets: ``check --provider relay --name NAME
--base-url URL --auth bearer|key --key-env VAR``, and a ``relays.yaml`` listing several for ``matrix``.

An undocumented relay is checked against fal's provider document (the contract itself: it claims to be
fal-compatible), with the scheme and key variable given; every line and report names it ``NAME`` at its
base URL, never "fal". ``relays.yaml``::

    relays:
      - name: acme                      # shown in every line and report
        base_url: https://api.acme.example/fal
        auth: bearer                    # or key
        key_env: ACME_KEY               # the variable holding its key
        endpoints: [fal-ai/flux-pro/kontext]   # optional; default: fal's first documented endpoint
        run_base_url: https://api.acme.example/run   # optional: its synchronous API
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..client._providers import Secret
from ..contract import ContractModel
from ._runner import Target

__all__ = ["RELAY_DOCUMENT", "RelaySpec", "RelaysProblem", "load_relays", "relay_target"]

#: the provider document an undocumented relay is held to: fal's (the contract)
RELAY_DOCUMENT = "fal"
_SCHEMES = {"key": "Key", "bearer": "Bearer"}


class RelaysProblem(Exception):
    """A ``relays.yaml`` that cannot be used: the message names the file, the JSONPath, what was expected and
    what was found."""


@dataclass(frozen=True)
class RelaySpec:
    """An undocumented relay.

    Attributes:
        name: the name its lines and reports carry.
        base_url: its queue base URL (absolute http(s)).
        scheme: ``Key`` or ``Bearer``.
        key_env: the environment variable holding its key.
        endpoints: endpoint ids to check (empty: fal's first documented endpoint).
        run_base_url: its synchronous API, or None.
    """

    name: str
    base_url: str
    scheme: str
    key_env: str
    endpoints: tuple[str, ...] = ()
    run_base_url: str | None = None

    def key(self) -> Secret | None:
        """The key from ``$key_env``, or None when it is not set."""
        value = os.environ.get(self.key_env)
        return Secret(value) if value else None


def _url_problem(value: Any) -> str | None:
    from urllib.parse import urlsplit

    if not isinstance(value, str):
        return f"found {type(value).__name__}"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"found {value!r}"
    if parts.username or parts.password:
        return "found credentials in the URL (pass the key with key_env)"
    return None


def load_relays(path: Path) -> list[RelaySpec]:
    """The relays of a ``relays.yaml`` (see the module docstring).

    Raises:
        RelaysProblem: the file cannot be read or parsed, or an entry lacks a field or has a bad value (the
            message names the file and the JSONPath, e.g. ``$.relays[1].auth``).
    """
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RelaysProblem(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise RelaysProblem(f"{path}: not YAML ({exc})") from None
    relays = data.get("relays") if isinstance(data, dict) else None
    if not isinstance(relays, list):
        raise RelaysProblem(f"{path} at $.relays: expected a list of relays, found {type(relays).__name__}")
    out: list[RelaySpec] = []
    names: set[str] = set()
    for i, entry in enumerate(relays):
        where = f"{path} at $.relays[{i}]"
        if not isinstance(entry, dict):
            raise RelaysProblem(f"{where}: expected a mapping, found {type(entry).__name__}")
        for field in ("name", "base_url", "auth", "key_env"):
            if not isinstance(entry.get(field), str) or not entry[field].strip():
                raise RelaysProblem(
                    f"{where}.{field}: expected a non-empty string, found {entry.get(field)!r}"
                )
        if entry["name"] in names:
            raise RelaysProblem(f"{where}.name: {entry['name']!r} is listed twice")
        names.add(entry["name"])
        for field in ("base_url", "run_base_url"):
            if field in entry and entry[field] is not None:
                problem = _url_problem(entry[field])
                if problem:
                    raise RelaysProblem(f"{where}.{field}: expected an absolute http(s) URL, {problem}")
        scheme = _SCHEMES.get(entry["auth"].lower())
        if scheme is None:
            raise RelaysProblem(f"{where}.auth: expected key or bearer, found {entry['auth']!r}")
        endpoints = entry.get("endpoints") or []
        if not isinstance(endpoints, list) or not all(isinstance(e, str) for e in endpoints):
            raise RelaysProblem(f"{where}.endpoints: expected a list of endpoint ids, found {endpoints!r}")
        out.append(
            RelaySpec(
                name=entry["name"],
                base_url=entry["base_url"].rstrip("/"),
                scheme=scheme,
                key_env=entry["key_env"],
                endpoints=tuple(endpoints),
                run_base_url=(entry.get("run_base_url") or None),
            )
        )
    return out


def relay_target(spec: RelaySpec, key: Secret, contract: ContractModel | None = None) -> Target:
    """The target of an undocumented relay: fal's provider document as the expectations, the relay's
    name, base URL, scheme and key."""
    contract = contract or ContractModel.load(RELAY_DOCUMENT).require()
    return Target(contract, spec.base_url, spec.run_base_url, key, spec.scheme, name=spec.name)


def relay_endpoints(spec: RelaySpec, contract: ContractModel) -> Sequence[str]:
    """The endpoints to check on ``spec``: its own list, else the document's default."""
    return spec.endpoints or (contract.default_endpoint(),)
