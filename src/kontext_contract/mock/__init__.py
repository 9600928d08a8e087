"""A stateful mock of fal's queue and synchronous APIs for FLUX.1 Kontext [pro], driven by the contract.

Every endpoint, input schema, default and output shape is read from the provider document
(``openapi/providers/{provider}.openapi.yaml``); the behaviour of the queue follows docs/sources.md §3.1-§3.6.
See docs/mock.md for routes, provider emulation, faults, deterministic mode and limits.

Public surface::

    from kontext_contract.mock import FaultConfig, MockConfig, MockServer, create_app

    app = create_app(MockConfig(provider="fal"))          # ASGI, e.g. httpx.ASGITransport(app)
    with MockServer(MockConfig(queue_delay=0.2)) as server:  # uvicorn on a free loopback port
        print(server.base_url)
"""

from ..contract import ContractError, ContractModel
from ._app import MockApp, MockConnectionDropped, create_app
from ._config import DEFAULT_KEYS, PROVIDERS, FaultConfig, MockConfig
from ._routing import FAL_HOSTS, route_fal
from ._server import AppServer, MockServer
from ._state import MockState

__all__ = [
    "DEFAULT_KEYS",
    "FAL_HOSTS",
    "PROVIDERS",
    "AppServer",
    "ContractError",
    "ContractModel",
    "FaultConfig",
    "MockApp",
    "MockConfig",
    "MockConnectionDropped",
    "MockServer",
    "MockState",
    "create_app",
    "route_fal",
]
