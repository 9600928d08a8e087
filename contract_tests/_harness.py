"""The suite's machinery: profiles, the Schemathesis configuration, loading the provider documents, where
each operation is served (mock, socket, live provider), and the record of every check that ran.

Nothing here lists an operation, a field or a status code of the contract: operations come from the
provider documents (``openapi/providers/*.openapi.yaml``), auth from their ``info.x-provider``, and the
check configuration from ``contract_tests/schemathesis.toml``.
"""

from __future__ import annotations

import functools
import os
import random
import threading
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import schemathesis
from schemathesis.checks import CheckResult
from schemathesis.core.failures import Failure
from schemathesis.core.result import Ok
from schemathesis.generation.case import Case
from schemathesis.hooks import HookContext
from schemathesis.schemas import APIOperation, BaseSchema

from kontext_contract._layout import Layout
from kontext_contract._openapi import with_content_keywords
from kontext_contract.contract import ContractModel, Operation, ProviderFacts, load_document
from kontext_contract.mock import PROVIDERS
from kontext_contract.mock._config import default_key

__all__ = [
    "CONFIG_FILE",
    "LAYOUT",
    "PROFILES",
    "PROVIDERS",
    "RECORD",
    "AnyCase",
    "AnyOperation",
    "Profile",
    "Record",
    "active_profile",
    "auth_header",
    "base_url_for",
    "contract_operation",
    "load_schema",
    "mock_key",
    "model_of",
    "operations",
    "provider_document",
    "provider_facts",
    "role",
    "run_seed",
    "schemathesis_config",
]

#: A Schemathesis case / operation of any specification (the suite only loads OpenAPI documents).
AnyCase = Case[Any]
AnyOperation = APIOperation[Any, Any, Any, Any]

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = Layout(ROOT)
CONFIG_FILE = Path(__file__).with_name("schemathesis.toml")
REPORTS = ROOT / "reports"


# -- profiles --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """How much each run generates. Chosen by ``HYPOTHESIS_PROFILE`` (``ci`` by default).

    Attributes:
        name: ``ci`` (every push, a few minutes on 2 cores), ``deep`` (nightly), ``live`` (a real provider),
            ``demo`` (``make demo``: a few cases per operation), ``propagation`` (tests/propagation: the whole
            suite in each changed copy, the fewest cases).
        fuzz_examples: Hypothesis examples of the fuzzing phase, per operation, in-process.
        socket_examples: the same over the real socket (the network path, not the breadth).
        coverage: run the coverage phase (Schemathesis' deterministic boundary and negative cases).
        stateful_examples: state machine runs (scenarios) per provider document.
        stateful_steps: most steps (API calls) per scenario.
        min_cases: the least number of generated cases the in-process run must reach (the issue's floor).
        seed: the run's seed when ``KONTEXT_CONTRACT_SEED`` is not set; ``None``: a fresh one each run. ``ci``
            has a fixed one, so that one commit gets one verdict (Hypothesis' advice for CI: a pull request is
            not failed by a case its change did not touch); ``deep`` explores with a fresh seed every night.
    """

    name: str
    fuzz_examples: int
    socket_examples: int
    coverage: bool
    stateful_examples: int
    stateful_steps: int
    min_cases: int
    seed: int | None = None


PROFILES: dict[str, Profile] = {
    "ci": Profile("ci", fuzz_examples=10, socket_examples=3, coverage=True, stateful_examples=12,
                  stateful_steps=6, min_cases=2000, seed=20261121),
    "deep": Profile("deep", fuzz_examples=400, socket_examples=40, coverage=True, stateful_examples=300,
                    stateful_steps=20, min_cases=10000),
    "live": Profile("live", fuzz_examples=1, socket_examples=1, coverage=False, stateful_examples=1,
                    stateful_steps=4, min_cases=0),
    # `make demo`'s short run: every operation of every provider document, a few cases each
    "demo": Profile("demo", fuzz_examples=3, socket_examples=1, coverage=False, stateful_examples=12,
                    stateful_steps=6, min_cases=0),
    # tests/propagation: the whole suite in each changed copy of the project, every test function, few cases
    "propagation": Profile("propagation", fuzz_examples=2, socket_examples=1, coverage=False,
                           stateful_examples=12, stateful_steps=6, min_cases=0),
}  # fmt: skip


def active_profile() -> Profile:
    """The profile named by ``HYPOTHESIS_PROFILE`` (default ``ci``).

    Raises:
        ValueError: an unknown name (the message lists the known ones).
    """
    name = os.environ.get("HYPOTHESIS_PROFILE", "ci") or "ci"
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"HYPOTHESIS_PROFILE={name!r} is not one of {', '.join(PROFILES)}") from None


@functools.cache
def run_seed() -> int:
    """The seed of this run: ``KONTEXT_CONTRACT_SEED`` if set (a number replays a run, ``random`` asks for a
    fresh one), else the profile's (:attr:`Profile.seed`: fixed for ``ci``, fresh for the others). Printed in
    the summary; every operation's Hypothesis seed derives from it.

    Raises:
        ValueError: ``KONTEXT_CONTRACT_SEED`` is neither a whole number nor ``random``.
    """
    raw = os.environ.get("KONTEXT_CONTRACT_SEED", "").strip()
    if raw.lower() == "random":
        return random.SystemRandom().randrange(2**63)
    if raw:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(
                f"KONTEXT_CONTRACT_SEED={raw!r} is neither a whole number nor 'random'"
            ) from None
    fixed = active_profile().seed
    return random.SystemRandom().randrange(2**63) if fixed is None else fixed


# -- documents ---------------------------------------------------------------------------------------------


@functools.cache
def _document(provider: str) -> dict[str, Any]:
    return load_document(LAYOUT.provider_document(provider))


def provider_document(provider: str) -> dict[str, Any]:
    """A fresh copy of ``openapi/providers/{provider}.openapi.yaml`` (safe to mutate)."""
    import copy

    return copy.deepcopy(_document(provider))


def provider_facts(provider: str, document: Mapping[str, Any] | None = None) -> ProviderFacts:
    """The provider's facts (auth scheme, key variables, sync API, ...) as the contract model reads them from
    ``info.x-provider`` of the provider document (or of ``document``)."""
    if document is not None:
        return ProviderFacts.read(document)
    return _model(provider).provider


@functools.cache
def _model(provider: str) -> ContractModel:
    return ContractModel.load(provider, layout=LAYOUT)


_MODELS: dict[int, tuple[Mapping[str, Any], ContractModel]] = {}


def model_of(operation: AnyOperation) -> ContractModel:
    """The contract model of the document an operation was loaded from (cached per document object)."""
    raw = operation.schema.raw_schema
    found = _MODELS.get(id(raw))
    if found is None or found[0] is not raw:
        found = _MODELS[id(raw)] = (raw, ContractModel.from_document(raw))
    return found[1]


def contract_operation(operation: AnyOperation) -> Operation:
    """The contract model's view of a Schemathesis operation (its role, server, endpoint id)."""
    model = model_of(operation)
    return next(
        op
        for op in model.operations.values()
        if op.path == operation.path and op.method == operation.method.upper()
    )


def role(operation: AnyOperation) -> str:
    """The operation's role in fal's flow (``submit``, ``run``, ``status``, ``status-stream``, ``result``,
    ``cancel``), as the contract model states it."""
    return contract_operation(operation).role


def mock_key(provider: str) -> str:
    """The key the mock accepts by default for the provider's auth scheme (``MockConfig.key``)."""
    return default_key(provider_facts(provider).auth_scheme)


def auth_header(provider: str, key: str, document: Mapping[str, Any] | None = None) -> str:
    """The ``Authorization`` value: ``Key <key>`` on fal, ``Bearer <key>`` on the relays (the provider facts)."""
    return provider_facts(provider, document).authorization(key)


# -- Schemathesis configuration and schemas ----------------------------------------------------------------


def schemathesis_config(
    provider: str,
    *,
    key: str,
    max_examples: int,
    seed: int,
    coverage: bool = True,
    modes: tuple[str, ...] | None = None,
    document: Mapping[str, Any] | None = None,
) -> schemathesis.Config:
    """``contract_tests/schemathesis.toml`` plus what depends on the run: the seed, the number of examples,
    the coverage phase, and the provider's credential under the document's own security scheme name
    (``x-provider.auth.security_scheme``): an ``apiKey`` value ``Key <key>`` for fal, a bearer token for relays.
    """
    data = tomllib.loads(CONFIG_FILE.read_text(encoding="utf-8"))
    data["seed"] = seed
    generation = data.setdefault("generation", {})
    generation["max-examples"] = max_examples
    if modes is not None:
        generation["mode"] = modes[0] if len(modes) == 1 else "all"
    phases = data.setdefault("phases", {})
    phases.setdefault("coverage", {})["enabled"] = coverage
    facts = provider_facts(provider, document)
    scheme_name = str(facts.security_scheme)
    doc = document if document is not None else _document(provider)
    security = ((doc.get("components") or {}).get("securitySchemes") or {}).get(scheme_name) or {}
    credential: dict[str, str]
    if security.get("type") == "http":  # e.g. `bearer`: Schemathesis writes "<Scheme> <token>" itself
        credential = {str(security.get("scheme", "bearer")).lower(): key}
    else:  # apiKey in the Authorization header: the whole value, scheme word included
        credential = {"api_key": auth_header(provider, key, document)}
    data["auth"] = {"openapi": {scheme_name: credential}}
    return schemathesis.Config.from_dict(data)


def load_schema(
    provider: str,
    *,
    key: str,
    max_examples: int,
    seed: int,
    app: Any = None,
    coverage: bool = True,
    modes: tuple[str, ...] | None = None,
    document: dict[str, Any] | None = None,
) -> BaseSchema:
    """The provider document as a Schemathesis schema, with the suite's configuration and its check
    recorder (:data:`RECORD`) attached. ``document``: an in-memory (e.g. mutated) document instead of the file.
    ``app``: the ASGI application to call in-process (the mock); ``None``: over the network."""
    config = schemathesis_config(
        provider,
        key=key,
        max_examples=max_examples,
        seed=seed,
        coverage=coverage,
        modes=modes,
        document=document,
    )
    # the contract's 3.0.3 x-contentSchema of each status-stream event's data, as the keyword Schemathesis
    # checks (docs/contract.md §3.1 status stream; kontext_contract._openapi.with_content_keywords)
    raw = provider_document(provider) if document is None else document
    schema = schemathesis.openapi.from_dict(with_content_keywords(raw), config=config)
    if app is not None:
        schema.app = app
    return schema


def operations(schema: BaseSchema) -> Iterator[AnyOperation]:
    """Every operation of the schema (raises on one Schemathesis cannot load)."""
    for result in schema.get_all_operations():
        if isinstance(result, Ok):
            yield result.ok()
        else:
            raise result.err()


def base_url_for(operation: AnyOperation, queue_base: str, run_base: str | None = None) -> str:
    """Where ``operation`` is served.

    Queue operations live at their paths under ``queue_base``. The synchronous ``run*`` operations carry a
    path-level server (e.g. ``https://fal.run/fal-ai/flux-pro``, docs/contract.md "How the contract holds
    two hosts"); they are served under ``run_base`` + that server's path. The mock serves the run API at
    ``{mock}/run/{endpoint_id}`` (docs/contract.md), so for the mock ``run_base`` is ``{mock}/run``;
    ``run_base=None`` keeps the document's own server (a live provider).
    """
    server = contract_operation(operation).server
    if server:
        if run_base is None:
            return server.rstrip("/")
        return run_base.rstrip("/") + urlsplit(server).path.rstrip("/")
    return queue_base.rstrip("/")


# -- the record of what ran ------------------------------------------------------------------------------


@dataclass
class Row:
    """One operation of one provider document against one target."""

    cases: int = 0
    positive: int = 0
    negative: int = 0
    passed: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)


@dataclass
class Record:
    """Every case sent and every check that ran, by (target, provider, operation). Filled by the
    ``after_validate`` hook of each loaded schema; read by the summary (conftest ``pytest_terminal_summary``)."""

    rows: dict[tuple[str, str, str], Row] = field(default_factory=lambda: defaultdict(Row))
    routed: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, target: str, provider: str, case: AnyCase, status: int, results: list[CheckResult]) -> None:
        with self.lock:
            row = self.rows[(target, provider, case.operation.label)]
            row.cases += 1
            row.statuses[status] += 1
            mode = case.meta.generation.mode if case.meta is not None else None
            if mode is not None and mode.is_negative:
                row.negative += 1
            else:
                row.positive += 1
            for result in results:
                if result.failure is None:
                    row.passed[result.name] += 1
                else:
                    row.failed[result.name] += 1

    @property
    def cases(self) -> int:
        return sum(row.cases for row in self.rows.values())

    def cases_for(self, target: str) -> int:
        return sum(row.cases for key, row in self.rows.items() if key[0] == target)

    @property
    def checks(self) -> int:
        return sum(sum(row.passed.values()) + sum(row.failed.values()) for row in self.rows.values())

    @property
    def failures(self) -> int:
        return sum(sum(row.failed.values()) for row in self.rows.values())

    def check_names(self) -> list[str]:
        names: set[str] = set()
        for row in self.rows.values():
            names.update(row.passed)
            names.update(row.failed)
        return sorted(names)


RECORD = Record()


def recording(schema: BaseSchema, target: str, provider: str, record: Record = RECORD) -> BaseSchema:
    """Attach the recorder to ``schema`` (schema-scoped ``after_validate`` hook): every validated case and
    every check result is counted under ``(target, provider, operation)``."""

    def after_validate(
        context: HookContext, case: AnyCase, response: schemathesis.Response, results: list[CheckResult]
    ) -> None:
        record.add(target, provider, case, response.status_code, results)

    schema.hooks.register_hook_with_name(after_validate, "after_validate")
    return schema


def failure_checks(exc: BaseException) -> set[str]:
    """The names of the checks whose failures an exception (a Schemathesis ``FailureGroup``) carries."""
    found: set[str] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if isinstance(current, Failure):
            found.update(getattr(current, "checks", ()) or ())
            title = str(getattr(current, "title", ""))
            if title.startswith("Custom check failed: `"):
                found.add(title.split("`")[1])
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
    return found
