"""Providers: where the queue and the synchronous API are, and how to authenticate there.

A :class:`Provider` is a plain value built when you construct it (nothing is read at import time):
base URLs (any scheme, http or https, any port, an optional path prefix), the authorization scheme,
and the key, resolved from the arguments or the environment right then. The key is kept in a
:class:`Secret`, shown as ``'****'`` everywhere, and sent only to the provider's own origins
(scheme, host and port of ``queue_base_url`` and ``run_base_url``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx

from ..contract import ContractError, ContractModel, ProviderFacts, load_document
from ._errors import ConfigurationError, MissingCredentialsError, ProviderIncompatibleError

__all__ = ["MOCK_FAL_KEY", "MOCK_RELAY_KEY", "ForeignUrlPolicy", "Provider", "Secret"]

#: The keys the project's mock accepts by default (``MockConfig.key``), for ``Provider.mock``.
MOCK_FAL_KEY = "mock-key-id:mock-key-secret"
MOCK_RELAY_KEY = "mock-relay-key"

ForeignUrlPolicy = Literal["rebase", "raise"]


def _facts(name: str, providers_dir: Path | None = None) -> ProviderFacts:
    """The provider facts of ``openapi/providers/{name}.openapi.yaml`` (through the contract model).

    Raises:
        ConfigurationError: no such document, or it cannot be read.
    """
    try:
        if providers_dir is None:
            return ContractModel.load(name).provider
        path = providers_dir / f"{name}.openapi.yaml"
        return ProviderFacts.read(load_document(path))
    except ContractError as exc:
        raise ConfigurationError(f"no usable provider document for {name!r}: {exc}") from None


class Secret:
    """A credential that does not show itself: ``repr``/``str`` give ``'****'``; :meth:`reveal` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value or any(c in value for c in "\r\n"):
            raise ConfigurationError("a key must be a non-empty single line", field="key")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


def _origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) as httpx parses ``url``: the host the request would really go to."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "", "", 0
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed.scheme, parsed.host.lower(), port


def _normalize_base(url: str, what: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{what} must be an absolute http:// or https:// URL, got {url!r}",
            field=what,
            problem=f"must be an absolute http:// or https:// URL, got {url!r}",
        )
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(
            f"{what} must not carry credentials; pass key= or set the key variable",
            field=what,
            problem="must not carry credentials",
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(
            f"{what} must not have a query or fragment, got {url!r}",
            field=what,
            problem=f"must not have a query or fragment, got {url!r}",
        )
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True, repr=False)
class Provider:
    """One provider of the Kontext endpoints: fal.ai itself, or a relay that speaks fal's queue API.

    Build one with :meth:`fal`, :meth:`relay`, :meth:`from_document` or :meth:`mock`.

    Attributes:
        name: a label for messages and logs (e.g. ``"fal"``, ``"relay-a"``).
        queue_base_url: where submits go (``POST {queue_base_url}/{endpoint_id}``) and where request URLs
            are served (``{queue_base_url}/{owner}/{app}/requests/{id}``).
        run_base_url: the synchronous API (``POST {run_base_url}/{endpoint_id}``), or ``None`` if the
            provider has none (``x-provider.sync_api: false``; then ``run`` raises).
        auth_scheme: ``"Key"`` (fal, docs/sources.md §3.4) or ``"Bearer"`` (relays).
        key: the credential; never shown.
        on_foreign_url: what to do when a submit returns request URLs on another origin (the documented
            relays return ``https://queue.fal.run/...``, docs/sources.md §2.14): ``"rebase"`` keeps the path and
            puts it on ``queue_base_url`` (the default), ``"raise"`` raises
            :class:`ProviderIncompatibleError`. The key is never sent to another origin either way.
        status_stream: whether to use the SSE status stream (docs/sources.md §3.1) in ``subscribe``; if the
            provider answers it with 404/405/501 or not as ``text/event-stream``, the client falls back to
            polling by itself.
    """

    name: str
    queue_base_url: str
    run_base_url: str | None
    auth_scheme: str
    key: Secret = field(compare=False)
    on_foreign_url: ForeignUrlPolicy = "rebase"
    status_stream: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "queue_base_url", _normalize_base(self.queue_base_url, "queue_base_url"))
        if self.run_base_url is not None:
            object.__setattr__(self, "run_base_url", _normalize_base(self.run_base_url, "run_base_url"))
        if self.on_foreign_url not in ("rebase", "raise"):
            raise ConfigurationError(
                f"on_foreign_url must be 'rebase' or 'raise', got {self.on_foreign_url!r}"
            )
        if not self.auth_scheme or " " in self.auth_scheme:
            raise ConfigurationError(
                f"auth_scheme must be one word such as 'Key' or 'Bearer', got {self.auth_scheme!r}"
            )

    def __repr__(self) -> str:
        return (
            f"Provider(name={self.name!r}, queue_base_url={self.queue_base_url!r}, "
            f"run_base_url={self.run_base_url!r}, auth='{self.auth_scheme} ****', "
            f"on_foreign_url={self.on_foreign_url!r})"
        )

    # ---- presets -------------------------------------------------------------------------------------

    @classmethod
    def fal(
        cls,
        key: str | None = None,
        *,
        queue_base_url: str | None = None,
        run_base_url: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Provider:
        """fal.ai as its provider document states it (``openapi/providers/fal.openapi.yaml``
        ``info.x-provider``): ``Authorization: Key <key>``, queue on https://queue.fal.run, run on
        https://fal.run (docs/sources.md §3.4).

        Args:
            key: ``"<key_id>:<key_secret>"``; default: ``$FAL_KEY``, else ``$FAL_KEY_ID:$FAL_KEY_SECRET``
                (the document's key variables), read now (from ``env`` if given, else ``os.environ``).
            queue_base_url, run_base_url: other hosts, e.g. a local mock (``http://127.0.0.1:8765`` and
                ``http://127.0.0.1:8765/run``); default: the document's.

        Raises:
            MissingCredentialsError: no key given and none in the environment.
            ConfigurationError: the fal provider document cannot be read.
        """
        facts = _facts("fal")
        environ = os.environ if env is None else env
        key = key or facts.key_from(environ)
        if key is None:
            raise MissingCredentialsError(facts.name, facts.key_variables)
        queue = queue_base_url or facts.queue_base_url
        if queue is None:
            raise ConfigurationError(
                "the fal provider document names no queue base URL: pass queue_base_url=",
                field="queue_base_url",
                problem="the fal provider document names no queue base URL",
            )
        return cls(facts.name, queue, run_base_url or facts.run_base_url, facts.auth_scheme, Secret(key))

    @classmethod
    def relay(
        cls,
        base_url: str,
        *,
        key: str | None = None,
        key_env: str = "RELAY_KEY",
        name: str = "relay",
        auth_scheme: str = "Bearer",
        run_base_url: str | None = None,
        on_foreign_url: ForeignUrlPolicy = "rebase",
        status_stream: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> Provider:
        """A relay that speaks fal's queue API at ``base_url`` with ``Authorization: Bearer <key>`` (docs/sources.md §3.4).

        Args:
            base_url: the relay's base URL (http or https; a path prefix is kept).
            key: the relay key; default: the environment variable ``key_env``, read now.
            run_base_url: the relay's synchronous API, if it has one (the documented relays do not).
            on_foreign_url: ``"rebase"`` (default) or ``"raise"``; see :class:`Provider`.

        Raises:
            MissingCredentialsError: no key given and ``key_env`` is unset.
        """
        environ = os.environ if env is None else env
        if key is None:
            key = environ.get(key_env) or None
        if key is None:
            raise MissingCredentialsError(name, key_env)
        return cls(name, base_url, run_base_url, auth_scheme, Secret(key), on_foreign_url, status_stream)

    @classmethod
    def from_document(
        cls,
        name: str,
        *,
        base_url: str | None = None,
        key: str | None = None,
        on_foreign_url: ForeignUrlPolicy = "rebase",
        providers_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Provider:
        """The provider described by ``openapi/providers/{name}.openapi.yaml``: its facts as the contract
        model reads them (:class:`kontext_contract.contract.ProviderFacts`: auth scheme, key variables,
        sync API, base URLs).

        Args:
            name: ``"fal"``, ``"relay-a"``, ``"chainhub"``, ``"relay-b"``.
            base_url: the queue base URL; default: the document's (relays whose document names no host
                need it). With ``base_url`` the document's synchronous API is not used.
            providers_dir: the folder of provider documents (default: the ones this package ships with).

        Raises:
            ConfigurationError: no such document, or no usable base URL.
            MissingCredentialsError: no key given and none in the document's key variables.
        """
        facts = _facts(name, providers_dir)
        queue = base_url or facts.queue_base_url
        if queue is None:
            raise ConfigurationError(
                f"the {name} document names no host: pass base_url=",
                field="base_url",
                problem=f"the {name} document names no host",
            )
        run = facts.run_base_url if facts.sync_api and base_url is None else None
        environ = os.environ if env is None else env
        key = key or facts.key_from(environ)
        if key is None:
            raise MissingCredentialsError(name, facts.key_variables)
        return cls(name, queue, run, facts.auth_scheme, Secret(key), on_foreign_url)

    @classmethod
    def mock(
        cls,
        base_url: str,
        *,
        profile: str = "fal",
        key: str | None = None,
        on_foreign_url: ForeignUrlPolicy = "rebase",
    ) -> Provider:
        """The project's mock (``make mock``, ``kontext_contract.mock.MockServer``) at ``base_url``.

        Queue base = ``base_url``; a profile whose document has a synchronous API (``fal``) has it at
        ``base_url + "/run"`` (the mock's route, docs/mock.md). The auth scheme is the profile document's
        (``Key`` for fal, ``Bearer`` for the relays); ``key`` defaults to the mock's default key for it.
        """
        base = _normalize_base(base_url, "base_url")
        facts = _facts(profile)
        secret = Secret(key or (MOCK_FAL_KEY if facts.auth_scheme.lower() == "key" else MOCK_RELAY_KEY))
        run = base + "/run" if facts.sync_api else None
        return cls(f"mock-{profile}", base, run, facts.auth_scheme, secret, on_foreign_url)

    def with_options(self, **changes: Any) -> Provider:
        """A copy with some attributes changed (e.g. ``on_foreign_url="raise"``)."""
        if "key" in changes and isinstance(changes["key"], str):
            changes["key"] = Secret(changes["key"])
        return replace(self, **changes)

    # ---- what the client needs -----------------------------------------------------------------------

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value. Not for logging."""
        return f"{self.auth_scheme} {self.key.reveal()}"

    @property
    def origins(self) -> frozenset[tuple[str, str, int]]:
        """The (scheme, host, port) triples the key may be sent to."""
        found = {_origin(self.queue_base_url)}
        if self.run_base_url:
            found.add(_origin(self.run_base_url))
        return frozenset(found)

    @functools.cached_property
    def _own_origins(self) -> frozenset[tuple[str, str, int]]:
        return self.origins

    def owns(self, url: str) -> bool:
        """Whether ``url`` is on one of the provider's own origins (so the key may go with it)."""
        return _origin(url) in self._own_origins

    def queue_url(self, path: str) -> str:
        """``queue_base_url`` joined with ``path`` (which starts with ``/``)."""
        return self.queue_base_url + path

    def run_url(self, run_path: str | None) -> str:
        """Where a synchronous run is: ``run_base_url`` + the run's path from the contract
        (``EndpointInfo.run_path``, e.g. ``fal-ai/flux-pro/kontext``).

        Raises:
            ProviderIncompatibleError: the provider has no synchronous API, or the contract states no run
                for the endpoint (``run_path`` None).
        """
        if self.run_base_url is None or run_path is None:
            raise ProviderIncompatibleError(
                f"{self.name} has no synchronous API (run) for this endpoint; use subscribe(), which goes "
                "through the queue"
            )
        return f"{self.run_base_url}/{run_path.strip('/')}"

    def adopt_url(self, url: str) -> tuple[str, bool]:
        """A request URL returned by the provider, made safe to use: ``(url, rebased)``.

        A URL on one of the provider's origins is kept. A URL elsewhere (the documented relays return
        ``https://queue.fal.run/...``; docs/sources.md §2.14) keeps its path and query and is moved onto
        ``queue_base_url`` when ``on_foreign_url == "rebase"``.

        Raises:
            ProviderIncompatibleError: the URL is on another origin and ``on_foreign_url == "raise"``, or
                it is not an absolute http(s) URL.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            if url.startswith("/"):
                return self.queue_url(url), False
            raise ProviderIncompatibleError(
                f"{self.name} returned a request URL that is not absolute: {url!r}"
            )
        if self.owns(url):
            return url, False
        if self.on_foreign_url == "raise":
            raise ProviderIncompatibleError(
                f"{self.name} returned a request URL on another host ({parts.scheme}://{parts.netloc}); "
                f"refusing to follow it, so the key is not sent there (on_foreign_url='raise'). "
                f"Use on_foreign_url='rebase' to ask {self.queue_base_url} instead."
            )
        base = urlsplit(self.queue_base_url)
        path = parts.path
        if base.path and not path.startswith(base.path + "/"):
            path = base.path + path
        return urlunsplit((base.scheme, base.netloc, path, parts.query, "")), True
