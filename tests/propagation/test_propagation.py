"""A declarative contract change reaches every consumer with no code edit.

For each kind of change: copy the project into a temporary folder, add one overlay (the way a maintainer
changes the contract), run ``kontext-contract spec build`` and ``kontext-contract codegen generate`` there,
and then, with that copy's code and contract and nothing else:

- the mock's own answers follow (status code of each state, each body against its schema);
- the client follows, against the mock over a real socket (subscribe, the typed output, the saved image);
- ``kontext-contract check``'s battery passes against the mock (the provider's known deviations aside);
- a short contract-suite run (Schemathesis, profile ``demo``) passes.

docs/pipeline.md "What follows a contract change by itself, and what needs code" lists what is covered.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = Path(__file__).with_name("_scenario.py")
COPIED = (
    "src",
    "generated",
    "openapi",
    "overlays",
    "contract_tests",
    "openapi-python-client.yaml",
    "pyproject.toml",
)
#: the checks the relays' documented deviations make fail (docs/compatibility.md); nothing else may fail
RELAY_DEVIATIONS = {"queue_urls_own_host", "request_urls_app"}

pytestmark = pytest.mark.slow


def _env(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(copy / "src"), str(copy / "generated")])
    env["KONTEXT_CONTRACT_ROOT"] = str(copy)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("HYPOTHESIS_PROFILE", None)
    return env


def _run(copy: Path, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 300) -> str:
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=copy,
        env={**_env(copy), **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, (
        f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc.stdout


@dataclass
class Change:
    """One kind of contract change, and what every consumer must show for it."""

    name: str
    actions: Callable[[dict[str, Any]], list[dict[str, Any]]]
    provider: str = "fal"
    provider_overlay: bool = False
    endpoint: str = "fal-ai/flux-pro/kontext/text-to-image"
    body: dict[str, Any] = field(default_factory=lambda: {"prompt": "a red fox"})
    invalid: dict[str, Any] | None = None
    expect: Callable[[dict[str, Any]], None] = lambda _found: None


def _apply(copy: Path, change: Change) -> None:
    contract = yaml.safe_load((copy / "openapi" / "kontext.openapi.yaml").read_text(encoding="utf-8"))
    actions = change.actions(contract)
    for action in actions:
        action.setdefault("description", f"Propagation test ({change.name}). Source: tests/propagation.")
    if change.provider_overlay:
        path = copy / "overlays" / "providers" / f"{change.provider}.overlay.yaml"
        overlay = yaml.safe_load(path.read_text(encoding="utf-8"))
        overlay["actions"].extend(actions)
    else:
        path = copy / "overlays" / "090-propagation.overlay.yaml"
        overlay = {"overlay": "1.0.0", "info": {"title": change.name, "version": "1.0.0"}, "actions": actions}
    path.write_text(yaml.safe_dump(overlay, sort_keys=False), encoding="utf-8")


# -- the kinds of change ------------------------------------------------------------------------------


def _new_input_field(_c: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "target": "$.components.schemas.KontextTextToImageInput.properties",
            "update": {
                "style": {"type": "string", "enum": ["photo", "sketch"], "description": "A new input."}
            },
        }
    ]


def _expect_new_input_field(found: dict[str, Any]) -> None:
    assert found["mock"]["invalid_code"] == 422 and ["body", "style"] in found["mock"]["invalid_locs"]


def _new_output_format(_c: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"target": "$.components.schemas.OutputFormat.enum", "update": "webp"}]


def _expect_webp(found: dict[str, Any]) -> None:
    assert found["client"]["image_format"] == "WEBP" and found["client"]["saved"].endswith(".webp")


def _wider_range(_c: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "target": "$.components.schemas[*].properties.num_images",
            "update": {"maximum": 8, "description": "Number of images, 1 to 8."},
        }
    ]


def _expect_eight(found: dict[str, Any]) -> None:
    assert found["client"]["images"] == 8
    assert found["mock"]["invalid_code"] == 422 and ["body", "num_images"] in found["mock"]["invalid_locs"]


def _endpoint_level_queue(contract: dict[str, Any]) -> list[dict[str, Any]]:
    """fal's per-endpoint OpenAPI layout: the request operations under the endpoint's own path."""
    old = [p for p in contract["paths"] if p.startswith("/fal-ai/flux-pro/requests/")]
    moved = {
        p.replace("/fal-ai/flux-pro/requests/", "/fal-ai/flux-pro/kontext/requests/"): contract["paths"][p]
        for p in old
    }
    return [{"target": "$.paths", "update": moved}] + [
        {"target": f"$.paths['{p}']", "remove": True} for p in old
    ]


def _expect_endpoint_level(found: dict[str, Any]) -> None:
    assert found["mock"]["status_url_path"].startswith("/fal-ai/flux-pro/kontext/requests/")


def _new_endpoint(contract: dict[str, Any]) -> list[dict[str, Any]]:
    submit = json.loads(json.dumps(contract["paths"]["/fal-ai/flux-pro/kontext/text-to-image"]))
    submit["post"].update(
        operationId="submitKontextUltra", **{"x-fal-endpoint-id": "fal-ai/flux-pro/kontext/ultra"}
    )
    run = json.loads(json.dumps(contract["paths"]["/kontext/text-to-image"]))
    run["post"].update(
        operationId="runKontextUltra", **{"x-fal-endpoint-id": "fal-ai/flux-pro/kontext/ultra"}
    )
    return [
        {"target": "$.paths", "update": {"/fal-ai/flux-pro/kontext/ultra": submit, "/kontext/ultra": run}}
    ]


def _status_always_200(contract: dict[str, Any]) -> list[dict[str, Any]]:
    """A provider whose status answers 200 in every state (fal's per-endpoint OpenAPI lists only 200)."""
    status = "$.paths['/fal-ai/flux-pro/requests/{request_id}/status'].get.responses"
    pending = contract["paths"]["/fal-ai/flux-pro/requests/{request_id}/status"]["get"]["responses"]["202"]
    schema = pending["content"]["application/json"]["schema"]
    schema = {
        "oneOf": [*schema["oneOf"], {"$ref": "#/components/schemas/QueueStatusCompleted"}],
        "discriminator": {
            "propertyName": "status",
            "mapping": {
                **schema["discriminator"]["mapping"],
                "COMPLETED": "#/components/schemas/QueueStatusCompleted",
            },
        },
    }
    return [
        {"target": f"{status}['200'].content['application/json'].schema", "remove": True},
        {"target": f"{status}['200'].content['application/json']", "update": {"schema": schema}},
        {"target": f"{status}['202']", "remove": True},
    ]


def _expect_200_while_pending(found: dict[str, Any]) -> None:
    assert found["mock"]["codes"] == {"IN_QUEUE": 200, "IN_PROGRESS": 200, "COMPLETED": 200}


def _required_output(_c: dict[str, Any]) -> list[dict[str, Any]]:
    field_schema = {"type": "number", "minimum": 0, "description": "What the request cost, in USD."}
    actions: list[dict[str, Any]] = []
    for name in ("KontextOutput", "KontextEditOutput"):
        actions.append(
            {"target": f"$.components.schemas.{name}.properties", "update": {"request_cost": field_schema}}
        )
        actions.append({"target": f"$.components.schemas.{name}.required", "update": "request_cost"})
    return actions


def _expect_cost(found: dict[str, Any]) -> None:
    assert "request_cost" in found["mock"]["output_keys"]
    assert found["client"]["output"]["request_cost"] == 0


def _token_auth(_c: dict[str, Any]) -> list[dict[str, Any]]:
    token = {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "Authorization: Token <key>",
    }
    return [
        {"target": "$.components.securitySchemes", "update": {"relayToken": token}},
        {"target": "$.security[0]", "remove": True},
        {"target": "$.security", "update": {"relayToken": []}},
        {"target": "$.components.securitySchemes.relayBearer", "remove": True},
        {
            "target": "$.info['x-provider'].auth",
            "update": {"scheme": "Token", "security_scheme": "relayToken"},
        },
    ]


CHANGES = [
    Change(
        "a new optional input field",
        _new_input_field,
        body={"prompt": "a red fox", "style": "sketch"},
        invalid={"prompt": "a red fox", "style": "oil"},
        expect=_expect_new_input_field,
    ),
    Change(
        "a new enum value: output_format webp",
        _new_output_format,
        body={"prompt": "a red fox", "output_format": "webp"},
        expect=_expect_webp,
    ),
    Change(
        "a changed numeric range: num_images up to 8",
        _wider_range,
        body={"prompt": "a red fox", "num_images": 8},
        invalid={"prompt": "a red fox", "num_images": 9},
        expect=_expect_eight,
    ),
    Change("queue URLs in the endpoint-level layout", _endpoint_level_queue, expect=_expect_endpoint_level),
    Change("a new endpoint", _new_endpoint, endpoint="fal-ai/flux-pro/kontext/ultra"),
    Change(
        "status 200 in every queue state (provider document)",
        _status_always_200,
        provider_overlay=True,
        expect=_expect_200_while_pending,
    ),
    Change("a new required output field", _required_output, expect=_expect_cost),
    Change(
        "another auth scheme for a provider (Token on relay-b)",
        _token_auth,
        provider="relay-b",
        provider_overlay=True,
        endpoint="fal-ai/flux-pro/kontext",
        body={"prompt": "make it night", "image_url": "https://example.com/fox.png"},
    ),
]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("pristine")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, base / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, base / name)
    return base


def _propagate(change: Change, pristine: Path, work: Path) -> dict[str, Any]:
    """Copy, change by overlay, rebuild and regenerate, then run every consumer: what each found."""
    copy = work / "project"
    shutil.copytree(pristine, copy)
    _apply(copy, change)
    _run(copy, "-m", "kontext_contract.cli", "spec", "build")
    _run(copy, "-m", "kontext_contract.cli", "codegen", "generate")
    spec = {
        "provider": change.provider,
        "endpoint": change.endpoint,
        "body": change.body,
        "invalid": change.invalid,
        "image_dir": str(work),
    }
    found: dict[str, Any] = json.loads(_run(copy, str(SCENARIO), json.dumps(spec)).strip().splitlines()[-1])
    found["suite"] = _run(
        copy,
        "-m",
        "pytest",
        "contract_tests/test_mock_asgi.py",
        "-q",
        "-p",
        "no:cacheprovider",
        "-k",
        f"test_{change.provider.replace('-', '_')}_against_mock",
        extra_env={"HYPOTHESIS_PROFILE": "demo"},
    )
    return found


@pytest.fixture(scope="module")
def propagated(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Future[dict[str, Any]]]:
    """Every change, run side by side (each is a few subprocesses; one per core), as futures: a test
    fails with its own change's error."""
    pool = ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1))
    futures = {
        c.name: pool.submit(_propagate, c, pristine, tmp_path_factory.mktemp("change")) for c in CHANGES
    }
    pool.shutdown(wait=False)
    return futures


@pytest.mark.parametrize("change", CHANGES, ids=[c.name for c in CHANGES])
def test_a_contract_change_reaches_every_consumer(
    change: Change, propagated: dict[str, Future[dict[str, Any]]]
) -> None:
    found = propagated[change.name].result(timeout=900)
    mock = found["mock"]
    assert mock["submit_code"] == 200 and mock["result_code"] == 200, mock
    assert mock["states"][-1] == "COMPLETED" and not mock["problems"], mock
    client = found["client"]
    assert client["images"] >= 1 and client["image_format"] in ("JPEG", "PNG", "WEBP"), client
    allowed = RELAY_DEVIATIONS if change.provider != "fal" else set()
    failed = {line.split(":", 1)[0] for line in found["checks"]["failed"]}
    assert failed <= allowed and found["checks"]["complete"], found["checks"]
    change.expect(found)
    last = found["suite"].strip().splitlines()[-1]
    assert " passed" in last and "failed" not in last and "error" not in last, found["suite"][-2000:]
