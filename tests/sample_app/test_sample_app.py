"""The sample app's tests: only the ``fal_mock`` fixture (kontext_contract.pytest_plugin), no patching in the
app or here. fal_client 1.0.3 runs unchanged: upload_file, subscribe, submit with a webhook, the status
events, run."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from . import app


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "fox photo.png"
    Image.new("RGB", (640, 360), (200, 90, 20)).save(path)  # 16:9
    return path


@pytest.fixture(autouse=True)
def _fresh_receiver():
    app.RESULTS.clear()
    app.REFUSED.clear()


@pytest.mark.fal_mock(queue_delay=0.2, processing_delay=0.2)
def test_upload_then_subscribe(fal_mock, photo: Path):
    result, updates = app.restyle(photo, "in the style of a woodcut")
    assert updates[0] == "Queued" and "InProgress" in updates and updates[-1] == "Completed"
    image = result["images"][0]
    assert (image["width"], image["height"]) == (1376, 768)  # the uploaded photo's 16:9
    downloaded = httpx.get(image["url"])
    assert Image.open(io.BytesIO(downloaded.content)).size == (1376, 768)
    stats = fal_mock.stats()
    assert fal_mock.submitted == {app.EDIT: 1}
    assert stats["storage"]["uploaded"] == 1
    assert fal_mock.billed["images"] == 1


def test_webhook_to_a_receiver_that_verifies(fal_mock, photo: Path):
    hook = fal_mock.serve(app.receiver) + "/fal/webhook"
    request_id = app.restyle_later(photo, "as a watercolour", hook)
    fal_mock.wait_for(lambda m: len(m.delivered) == 1)
    assert app.RESULTS[request_id].startswith(fal_mock.base_url + "/_mock/files/")
    assert app.REFUSED == []


def test_webhook_to_the_apps_public_url(fal_mock, photo: Path):
    """The app configured with its production URL: the fixture sends that host to the served receiver."""
    hook = fal_mock.serve(app.receiver, url="https://myapp.example.com") + "/fal/webhook"
    request_id = app.restyle_later(photo, "as a mosaic", hook)
    fal_mock.wait_for(lambda m: len(m.delivered) == 1)
    assert request_id in app.RESULTS


@pytest.mark.fal_mock(webhook_faults=("bad-signature",), webhook_retry_compression=100_000.0)
def test_the_receiver_refuses_a_forged_signature_and_fal_retries(fal_mock, photo: Path):
    request_id = app.restyle_later(photo, "p", fal_mock.serve(app.receiver) + "/fal/webhook")
    fal_mock.wait_for(lambda m: m.stats()["webhooks"]["failed"] == 1)
    assert [("bad_signature", request_id)] * 11 == app.REFUSED  # the delivery and its 10 retries
    assert app.RESULTS == {}


@pytest.mark.fal_mock(webhook_faults=("stale-timestamp",), webhook_retry_compression=100_000.0)
def test_the_receiver_refuses_a_replayed_timestamp(fal_mock, photo: Path):
    app.restyle_later(photo, "p", fal_mock.serve(app.receiver) + "/fal/webhook")
    fal_mock.wait_for(lambda m: m.stats()["webhooks"]["failed"] == 1)
    assert {reason for reason, _ in app.REFUSED} == {"stale_timestamp"}


@pytest.mark.fal_mock(webhook_faults=("duplicate",))
def test_the_receiver_is_idempotent_on_a_duplicate_delivery(fal_mock, photo: Path):
    request_id = app.restyle_later(photo, "p", fal_mock.serve(app.receiver) + "/fal/webhook")
    fal_mock.wait_for(lambda m: len(m.delivered) == 2)
    assert list(app.RESULTS) == [request_id] and app.REFUSED == []


@pytest.mark.fal_mock(deterministic=True, queue_delay=0.3, processing_delay=0.3)
def test_status_events_in_deterministic_mode(fal_mock):
    assert app.follow("a fox") == ["Queued", "Queued", "InProgress", "InProgress", "InProgress", "Completed"]
    assert fal_mock.stats()["deterministic"] is True


def test_run(fal_mock):
    assert app.quick("a fox")["images"]
    assert fal_mock.stats()["runs"] == {app.TEXT: 1}
