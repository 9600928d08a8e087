"""Every provider document against the mock's matching profile, in-process (ASGI): all of Schemathesis'
phases (examples, coverage, fuzzing), positive and negative data, every check (schemathesis.toml) and the
suite's own (``_checks.py``). The operations are the document's; nothing here names one."""

from __future__ import annotations

from collections.abc import Callable

from kontext_contract.mock import MockConfig, create_app

from ._harness import (
    PROVIDERS,
    AnyCase,
    active_profile,
    load_schema,
    mock_key,
    recording,
    run_seed,
)
from ._run import ASGI_BASE, validate

PROFILE = active_profile()


def mock_config(provider: str) -> MockConfig:
    """The mock in deterministic mode: sequential ids and a virtual clock, so a seed replays the same run.
    A request spends 0.1 s (virtual) IN_QUEUE, then completes; the clock moves 0.1 s per request, so
    the suite sees the queue states and the X-Fal-Request-Timeout path without sleeping."""
    return MockConfig(provider=provider, deterministic=True, queue_delay=0.1, processing_delay=0.0)


def _test_for(provider: str) -> Callable[[AnyCase], None]:
    app = create_app(mock_config(provider))
    schema = load_schema(
        provider,
        key=mock_key(provider),
        max_examples=PROFILE.fuzz_examples,
        seed=run_seed(),
        app=app,
        coverage=PROFILE.coverage,
    )
    recording(schema, "in-process", provider)

    @schema.parametrize()
    def test(case: AnyCase) -> None:
        validate(case, ASGI_BASE, ASGI_BASE + "/run")

    test.__name__ = f"test_{provider.replace('-', '_')}_against_mock"
    return test  # type: ignore[no-any-return]


for _provider in PROVIDERS:
    _test = _test_for(_provider)
    globals()[_test.__name__] = _test
