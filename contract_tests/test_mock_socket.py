"""The same run over a real socket: the mock served by uvicorn on loopback (``MockServer``), Schemathesis
sending through ``requests``, so the network path (HTTP/1.1 framing, headers, content lengths, the SSE
stream) is covered once per provider document. A smaller budget than in-process, where the breadth is."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from kontext_contract.mock import MockServer

from ._harness import (
    PROVIDERS,
    AnyCase,
    active_profile,
    load_schema,
    mock_key,
    recording,
    run_seed,
)
from ._run import validate
from .test_mock_asgi import mock_config

PROFILE = active_profile()
_SERVERS: dict[str, MockServer] = {}


def server_for(provider: str) -> MockServer:
    """The mock of ``provider``'s profile on a free loopback port, started on first use."""
    server = _SERVERS.get(provider)
    if server is None:
        server = _SERVERS[provider] = MockServer(mock_config(provider)).start()
    return server


@pytest.fixture(scope="module", autouse=True)
def _stop_servers() -> Iterator[None]:
    yield
    while _SERVERS:
        _SERVERS.popitem()[1].stop()


def _test_for(provider: str) -> Callable[[AnyCase], None]:
    schema = load_schema(
        provider,
        key=mock_key(provider),
        max_examples=PROFILE.socket_examples,
        seed=run_seed(),
        coverage=False,
    )
    recording(schema, "socket", provider)

    @schema.parametrize()
    def test(case: AnyCase) -> None:
        server = server_for(provider)
        response = validate(case, server.base_url, server.base_url + "/run")
        assert str(response.request.url).startswith(server.base_url + "/"), (
            "the case did not go over the socket"
        )

    test.__name__ = f"test_{provider.replace('-', '_')}_against_mock_over_socket"
    return test  # type: ignore[no-any-return]


for _provider in PROVIDERS:
    _test = _test_for(_provider)
    globals()[_test.__name__] = _test
