"""The ``fal_mock`` fixture (kontext_contract.pytest_plugin, entry point pytest11) beyond the sample app:
this project's own client, the marker's options, the routing's scope, and a pytest run without the test
extra's packages."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from kontext_contract.client import Client, Endpoint, Provider
from kontext_contract.mock import FAL_HOSTS, MockConfig, MockServer, route_fal

ORIGINAL_SYNC = httpx.HTTPTransport.handle_request
ORIGINAL_ASYNC = httpx.AsyncHTTPTransport.handle_async_request


@pytest.mark.fal_mock(queue_delay=0.1, processing_delay=0.1)
def test_this_projects_client_unchanged(fal_mock):
    with Client(
        Provider.fal()
    ) as client:  # the contract's https://queue.fal.run, FAL_KEY from the environment
        out = client.subscribe(Endpoint.KONTEXT_TEXT_TO_IMAGE, {"prompt": "a fox"})
    assert out.images[0].url.startswith(fal_mock.base_url)
    assert fal_mock.stats()["calls"].get("stream", 0) >= 1  # the status stream
    assert fal_mock.submitted == {Endpoint.KONTEXT_TEXT_TO_IMAGE.value: 1}


@pytest.mark.fal_mock(provider="chainhub")
def test_the_marker_selects_the_profile(fal_mock):
    assert fal_mock.stats()["provider"] == "chainhub"
    assert fal_mock.key == "mock-relay-key"


def test_the_routing_is_undone_after_the_block_and_leaves_other_hosts_alone():
    seen: list[str] = []
    with MockServer(MockConfig()) as server, route_fal(server.base_url):
        assert httpx.get("https://rest.fal.ai/.well-known/jwks.json").status_code == 200
        with route_fal("http://127.0.0.1:9"), pytest.raises(httpx.ConnectError):  # the innermost table wins
            httpx.get("https://rest.fal.ai/.well-known/jwks.json")
        assert httpx.get("https://queue.fal.run/.well-known/jwks.json").status_code == 200
        transport = httpx.MockTransport(lambda r: (seen.append(str(r.url)), httpx.Response(204))[1])
        httpx.Client(transport=transport).get("https://example.com/x")
    assert seen == ["https://example.com/x"]
    assert httpx.HTTPTransport.handle_request is ORIGINAL_SYNC
    assert httpx.AsyncHTTPTransport.handle_async_request is ORIGINAL_ASYNC
    assert {"queue.fal.run", "fal.run", "rest.fal.ai", "v3.fal.media"} <= set(FAL_HOSTS)


def test_the_plugin_loads_without_the_test_extra(tmp_path: Path):
    """pytest with fal_client, PyNaCl, Flask and a2wsgi made unimportable: the plugin loads, and the fixture
    works with the runtime dependencies alone."""
    (tmp_path / "test_app.py").write_text(
        textwrap.dedent(
            """
            import httpx, sys

            def test_it(fal_mock):
                answer = httpx.post(
                    "https://fal.run/fal-ai/flux-pro/kontext/text-to-image",
                    json={"prompt": "p"},
                    headers={"Authorization": "Key " + fal_mock.key},
                )
                assert answer.status_code == 200
                assert not {"fal_client", "nacl", "flask", "a2wsgi"} & set(sys.modules)
            """
        )
    )
    runner = textwrap.dedent(
        """
        import sys, importlib.abc

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in {"fal_client", "nacl", "flask", "a2wsgi"}:
                    raise ModuleNotFoundError(name)
                return None

        sys.meta_path.insert(0, Block())
        import pytest
        sys.exit(pytest.main([sys.argv[1], "-q", "-p", "no:cacheprovider"]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", runner, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout


def test_importing_the_plugin_imports_no_mock():
    code = "import sys, kontext_contract.pytest_plugin; print(sorted(m for m in sys.modules if m.startswith('kontext_contract')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "kontext_contract.mock" not in done.stdout


@pytest.mark.fal_mock(queue_delay=0.05, processing_delay=0.05)
def test_wait_for_says_what_the_webhooks_did_when_it_gives_up(fal_mock):
    with pytest.raises(TimeoutError) as caught:
        fal_mock.wait_for(lambda m: False, timeout=0.05)
    message = str(caught.value)
    assert "condition not met after 0.05 s" in message
    assert "'sent': 0" in message and "'pending': 0" in message and "'attempts': 0" in message
