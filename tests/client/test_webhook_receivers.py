"""The Starlette and Flask receivers of docs/client.md "Webhooks", run as written (``save`` is the test's),
served by the ``fal_mock`` fixture: a delivery of the mock is taken, a forged one is refused."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import fal_client
import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```python\n(# receiver: (\w+)\n.*?)```", re.S)
RECEIVERS = {
    kind: code for code, kind in BLOCK.findall((ROOT / "docs" / "client.md").read_text(encoding="utf-8"))
}
EDIT = "fal-ai/flux-pro/kontext"


def test_the_docs_have_both_receivers() -> None:
    assert set(RECEIVERS) == {"starlette", "flask"}


@pytest.mark.parametrize("kind", sorted(RECEIVERS))
def test_the_receiver_takes_the_mocks_webhook_and_refuses_a_forged_one(kind: str, fal_mock: Any) -> None:
    saved: dict[str, str] = {}
    namespace: dict[str, Any] = {"save": saved.__setitem__, "__name__": f"receiver_{kind}"}
    exec(compile(RECEIVERS[kind], f"docs/client.md ({kind})", "exec"), namespace)
    hook = fal_mock.serve(namespace["app"]) + "/fal/webhook"
    image = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
    handle = fal_client.submit(EDIT, arguments={"prompt": "p", "image_url": image}, webhook_url=hook)
    fal_mock.wait_for(lambda m: len(m.delivered) == 1)
    assert saved == {handle.request_id: saved[handle.request_id]}
    assert saved[handle.request_id].startswith(fal_mock.base_url + "/_mock/files/")
    forged = httpx.post(
        hook,
        content=b'{"request_id": "r", "status": "OK", "payload": {}}',
        headers={
            "X-Fal-Webhook-Request-Id": "r",
            "X-Fal-Webhook-User-Id": "u",
            "X-Fal-Webhook-Timestamp": str(int(time.time())),
            "X-Fal-Webhook-Signature": "00" * 64,
        },
    )
    assert (forged.status_code, forged.text) == (401, "bad_signature")
    assert len(saved) == 1
