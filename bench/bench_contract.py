"""Cases per second of the contract suite against the mock: in-process (ASGI) and over a real socket (uvicorn
on loopback), side by side. Each case is a Schemathesis case of the fal provider document sent with every
check of the suite (contract_tests/_run.validate), positive and negative, fuzzing phase only.
Run: `make bench` or `.venv/bin/python bench/bench_contract.py [EXAMPLES_PER_OPERATION]`."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import hypothesis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contract_tests._harness import AnyCase, Record, load_schema, mock_key, operations
from contract_tests._run import ASGI_BASE, validate
from kontext_contract.mock import MockConfig, MockServer, create_app


def _config() -> MockConfig:
    return MockConfig(provider="fal", deterministic=True, queue_delay=0.1)


def measure(examples: int, *, socket: bool) -> tuple[int, float]:
    """(cases, seconds) of one run over every operation of the fal document."""
    server = MockServer(_config()).start() if socket else None
    app = None if socket else create_app(_config())
    base = server.base_url if server is not None else ASGI_BASE
    schema = load_schema("fal", key=mock_key("fal"), max_examples=examples, seed=1, app=app, coverage=False)
    count = 0
    record = Record()
    started = time.perf_counter()
    try:
        for operation in operations(schema):

            @hypothesis.settings(
                max_examples=examples,
                phases=[hypothesis.Phase.generate],
                database=None,
                deadline=None,
                suppress_health_check=list(hypothesis.HealthCheck),
            )
            @hypothesis.given(case=operation.as_strategy())
            def run(case: AnyCase) -> None:
                nonlocal count
                count += 1
                validate(case, base, base + "/run", record=record)

            run()
    finally:
        if server is not None:
            server.stop()
    return count, time.perf_counter() - started


def main(examples: int) -> None:
    logging.getLogger("kontext_contract.mock").setLevel(logging.ERROR)  # refused webhooks of generated URLs
    print(f"contract suite against the mock, fal document, {examples} examples per operation, every check:")
    rates = {}
    for name, socket in (("in-process (ASGI)", False), ("real socket (uvicorn)", True)):
        cases, seconds = measure(examples, socket=socket)
        rates[name] = cases / seconds
        print(f"  {name:22} {cases:5d} cases in {seconds:6.2f} s = {rates[name]:7.1f} cases/s")
    first, second = rates.values()
    print(f"  in-process is {first / second:.2f} x the socket rate")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
