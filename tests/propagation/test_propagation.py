"""A declarative contract change reaches every consumer with no code edit.

For each kind of change: copy the project into a temporary folder, add overlays (or a provider's overlay: a
new provider document), the way a maintainer changes the contract, run ``kontext-contract spec build`` and
``kontext-contract codegen generate`` there, and then, with that copy's code and contract and nothing else:

- the mock's own answers follow (status code of each state, each body against its schema, the probes of
  ``_scenario.py``: renamed parameters and headers, cancel's codes, a removed endpoint);
- the client follows, against the mock over a real socket (subscribe, the typed output, the saved image);
- ``kontext-contract check``'s battery passes against the mock (the provider's known deviations aside);
- the whole contract suite passes: ``pytest contract_tests`` as ``make contract`` runs it, every test
  function, with the ``propagation`` Hypothesis profile (few cases per operation).

Changes that can coexist share a copy (:data:`GROUPS`; each change's own effects are still asserted), and the
copies run side by side: two builds and two suite runs instead of one per change. The queue-layout changes
need a copy of their own: the provider overlays target fal's layout of the queue paths.

docs/pipeline.md "What follows a contract change by itself, and what needs code" lists what is covered.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonpath
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
    """One kind of contract change, and what every consumer must show for it.

    ``group``: the copy it is applied in, with the others of its group. ``new_provider``: the name of a
    provider document the change adds (its overlay is ``actions``' single document). ``removed``: an
    endpoint id the change removes (probed: the mock and the client refuse it)."""

    name: str
    actions: Callable[[dict[str, Any]], list[dict[str, Any]]]
    group: str = "contract"
    provider: str = "fal"
    provider_overlay: bool = False
    new_provider: str | None = None
    removed: str | None = None
    endpoint: str = "fal-ai/flux-pro/kontext/text-to-image"
    body: dict[str, Any] = field(default_factory=lambda: {"prompt": "a red fox"})
    invalid: dict[str, Any] | None = None
    expect: Callable[[dict[str, Any]], None] = lambda _found: None


def _apply(copy: Path, changes: list[Change]) -> None:
    """Each change's actions, in order: main-contract ones into one overlay, provider ones appended to the
    provider's overlay; a new provider's overlay written beside the others."""
    contract = yaml.safe_load((copy / "openapi" / "kontext.openapi.yaml").read_text(encoding="utf-8"))
    main: list[dict[str, Any]] = []
    for change in changes:
        actions = change.actions(contract)
        for action in [] if change.new_provider else actions:
            action.setdefault("description", f"Propagation test ({change.name}). Source: tests/propagation.")
        if change.new_provider:
            path = copy / "overlays" / "providers" / f"{change.new_provider}.overlay.yaml"
            path.write_text(yaml.safe_dump(actions[0], sort_keys=False), encoding="utf-8")
        elif change.provider_overlay:
            path = copy / "overlays" / "providers" / f"{change.provider}.overlay.yaml"
            overlay = yaml.safe_load(path.read_text(encoding="utf-8"))
            overlay["actions"].extend(actions)
            path.write_text(yaml.safe_dump(overlay, sort_keys=False), encoding="utf-8")
        else:
            main.extend(actions)
    if main:
        path = copy / "overlays" / "090-propagation.overlay.yaml"
        info = {"title": "propagation test changes", "version": "1.0.0"}
        path.write_text(yaml.safe_dump({"overlay": "1.0.0", "info": info, "actions": main}), encoding="utf-8")


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
            # the overlay replaces what fal's page states (maximum 4): it says so (docs/pipeline.md
            # "Overlays correct, they do not restate"), or the fact accounting refuses the build
            "x-drops": [
                {
                    "source": "002-fal-kontext-multi.yaml",
                    "path": '$.paths["/fal-ai/flux-pro/kontext/multi"].post.requestBody.content'
                    '["application/json"].schema.properties.num_images.maximum',
                    "value": 4,
                    "reason": "made for the test: the maintainer's range replaces fal's page",
                }
            ],
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


def _renamed_header_parameter(_c: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"target": "$.components.parameters.RequestTimeout", "update": {"name": "X-Fal-Start-Timeout"}}]


def _expect_start_timeout(found: dict[str, Any]) -> None:
    name, code, error_type = found["mock"]["deadline"]
    assert name == "X-Fal-Start-Timeout" and code == 504 and error_type == "request_timeout", found["mock"]


def _renamed_query_parameter(_c: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"target": "$.components.parameters.Logs", "update": {"name": "with_logs"}}]


def _expect_with_logs(found: dict[str, Any]) -> None:
    assert isinstance(found["mock"]["logs_asked"], list), found["mock"]
    assert found["mock"]["logs_under_old_name"] is None, found["mock"]  # `logs=1` is no longer the flag


def _renamed_response_header(contract: dict[str, Any]) -> list[dict[str, Any]]:
    """``x-fal-request-id`` declared as ``x-request-id`` on every response that declares it."""
    actions: list[dict[str, Any]] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                inner = f"{where}[{json.dumps(key)}]".replace('"', "'")
                if key == "headers" and isinstance(value, dict) and "x-fal-request-id" in value:
                    actions.append({"target": f"{inner}['x-fal-request-id']", "remove": True})
                    actions.append({"target": inner, "update": {"x-request-id": value["x-fal-request-id"]}})
                else:
                    walk(value, inner)

    walk({"components": contract["components"], "paths": contract["paths"]}, "$")
    return actions


def _expect_x_request_id(found: dict[str, Any]) -> None:
    headers = found["mock"]["submit_headers"]
    assert "x-request-id" in headers and "x-fal-request-id" not in headers, headers


def _cancel_answers_200(contract: dict[str, Any]) -> list[dict[str, Any]]:
    """Cancel answers CANCELLATION_REQUESTED with 200 (no 202): fal's per-endpoint OpenAPI lists only 200."""
    path = next(p for p, item in contract["paths"].items() if "put" in item)
    responses = f"$.paths['{path}'].put.responses"
    return [
        {"target": f"{responses}['202']", "remove": True},
        {"target": f"{responses}['200']", "update": {"x-fal-status": ["OK", "CANCELLATION_REQUESTED"]}},
        {
            "target": "$.components.schemas.CancelAccepted.properties.status.enum",
            "update": "CANCELLATION_REQUESTED",
        },
    ]


def _expect_cancel_200(found: dict[str, Any]) -> None:
    assert found["mock"]["cancel_at_once"] == [200, "CANCELLATION_REQUESTED"], found["mock"]


def _removed_endpoint(contract: dict[str, Any]) -> list[dict[str, Any]]:
    gone = "fal-ai/flux-pro/kontext/max/multi"
    paths = [
        p
        for p, item in contract["paths"].items()
        if any(isinstance(op, dict) and op.get("x-fal-endpoint-id") == gone for op in item.values())
    ]
    return [{"target": f"$.paths['{p}']", "remove": True} for p in paths]


def _expect_removed(found: dict[str, Any]) -> None:
    assert found["mock"]["removed_submit_code"] == 404, found["mock"]
    assert found["client"]["removed"] != "accepted", found["client"]


def _new_provider(_c: dict[str, Any]) -> list[dict[str, Any]]:
    """A provider document made for this test: relay B's overlay under another name and key variable."""
    overlay = yaml.safe_load(
        (ROOT / "overlays" / "providers" / "relay-b.overlay.yaml").read_text(encoding="utf-8")
    )
    overlay["info"]["title"] = (
        "Provider document for relay C (made for tests/propagation, published by nobody)"
    )
    text = yaml.safe_dump(overlay, sort_keys=False)
    text = text.replace("relay-b", "relay-c").replace("RELAY_B_KEY", "RELAY_C_KEY")
    return [yaml.safe_load(text)]


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
    Change("a new required output field", _required_output, expect=_expect_cost),
    Change("a renamed header parameter", _renamed_header_parameter, expect=_expect_start_timeout),
    Change("a renamed query parameter", _renamed_query_parameter, expect=_expect_with_logs),
    Change("a renamed response header", _renamed_response_header, expect=_expect_x_request_id),
    Change("another success code for cancel", _cancel_answers_200, expect=_expect_cancel_200),
    Change(
        "queue URLs in the endpoint-level layout",
        _endpoint_level_queue,
        group="layout",
        expect=_expect_endpoint_level,
    ),
    Change("a new endpoint", _new_endpoint, group="layout", endpoint="fal-ai/flux-pro/kontext/ultra"),
    Change(
        "a removed endpoint",
        _removed_endpoint,
        group="layout",
        removed="fal-ai/flux-pro/kontext/max/multi",
        expect=_expect_removed,
    ),
    Change(
        "status 200 in every queue state (relay-a's provider document)",
        _status_always_200,
        group="contract",
        provider="relay-a",
        provider_overlay=True,
        endpoint="fal-ai/flux-pro/kontext",
        body={"prompt": "make it night", "image_url": "https://example.com/fox.png"},
        expect=_expect_200_while_pending,
    ),
    Change(
        "another auth scheme for a provider (Token on relay-b)",
        _token_auth,
        group="contract",
        provider="relay-b",
        provider_overlay=True,
        endpoint="fal-ai/flux-pro/kontext",
        body={"prompt": "make it night", "image_url": "https://example.com/fox.png"},
    ),
    Change(
        "a new provider document (relay-c)",
        _new_provider,
        group="contract",
        provider="relay-c",
        new_provider="relay-c",
        endpoint="fal-ai/flux-pro/kontext",
        body={"prompt": "make it night", "image_url": "https://example.com/fox.png"},
        expect=lambda found: _expect_suite_ran(found, "relay_c"),
    ),
]
#: the copies: changes that coexist share one (group name -> its changes, in order)
GROUPS: dict[str, list[Change]] = {}
for _change in CHANGES:
    GROUPS.setdefault(_change.group, []).append(_change)


def _expect_suite_ran(found: dict[str, Any], provider: str) -> None:
    ran = [name for name in found["suite_cases"] if provider in name]
    assert any("against_mock" in name for name in ran), found["suite_cases"][:20]


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


_UNACCOUNTED = re.compile(r"^\s+(\S+\.yaml) states .*\n\s+at (\$\S*)$", re.M)


def _build_recording_drops(copy: Path) -> None:
    """``spec build``. A test change that contradicts what a source states (a wider range, a removed endpoint)
    is refused until an overlay action records the facts it drops (docs/pipeline.md "Overlays correct, they do
    not restate"), as a maintainer would: the refused facts are recorded as ``x-drops`` of the test's overlay,
    each with the value the source states there, and the build runs again."""
    proc = subprocess.run(
        [sys.executable, "-m", "kontext_contract.cli", "spec", "build"],
        cwd=copy,
        env=_env(copy),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    found = _UNACCOUNTED.findall(proc.stderr + proc.stdout) if proc.returncode else []
    overlay_path = copy / "overlays" / "090-propagation.overlay.yaml"
    if found and overlay_path.is_file():
        overlay = yaml.safe_load(overlay_path.read_text(encoding="utf-8"))
        records = []
        for source, where in found:
            document = yaml.safe_load((copy / "openapi" / "sources" / source).read_text(encoding="utf-8"))
            values = jsonpath.findall(where, document)
            record = {"source": source, "path": where, "reason": "changed by tests/propagation"}
            if values:
                record["value"] = values[0]
            records.append(record)
        overlay["actions"][0].setdefault("x-drops", []).extend(records)
        overlay_path.write_text(yaml.safe_dump(overlay, sort_keys=False), encoding="utf-8")
    _run(copy, "-m", "kontext_contract.cli", "spec", "build")


def _propagate(changes: list[Change], pristine: Path, work: Path) -> list[dict[str, Any]]:
    """Copy, change by overlays, rebuild and regenerate, then run every consumer: what each found, per change."""
    copy = work / "project"
    shutil.copytree(pristine, copy)
    _apply(copy, changes)
    _build_recording_drops(copy)
    _run(copy, "-m", "kontext_contract.cli", "codegen", "generate")
    specs = [
        {
            "provider": c.provider,
            "endpoint": c.endpoint,
            "body": c.body,
            "invalid": c.invalid,
            "image_dir": str(work),
            "removed": c.removed,
        }
        for c in changes
    ]
    found: list[dict[str, Any]] = json.loads(
        _run(copy, str(SCENARIO), json.dumps(specs)).strip().splitlines()[-1]
    )
    # the whole contract suite, as `make contract` runs it (every test function), with few cases each
    junit = work / "contract-junit.xml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "contract_tests",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={junit}",
        ],
        cwd=copy,
        env={**_env(copy), "HYPOTHESIS_PROFILE": "propagation"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    cases: list[str] = []
    failures: list[str] = []
    if junit.is_file():
        for case in ET.parse(junit).getroot().iter("testcase"):
            name = f"{case.get('classname')}::{case.get('name')}"
            cases.append(name)
            for bad in [*case.iter("failure"), *case.iter("error")]:
                # the failing test's own report (the suite's tail is its summary table)
                failures.append(f"{name}: {bad.get('message', '')}\n{(bad.text or '')[-4000:]}")
    for one in found:
        one["suite"] = {
            "returncode": proc.returncode,
            "tail": (proc.stdout + proc.stderr)[-3000:],
            "failures": failures,
        }
        one["suite_cases"] = cases
    return found


@pytest.fixture(scope="module")
def propagated(
    pristine: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Future[list[dict[str, Any]]]]:
    """Every group of changes in its own copy, side by side (each is a few subprocesses; one per core), as
    futures: a test fails with its own change's error."""
    pool = ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1))
    futures = {
        group: pool.submit(_propagate, changes, pristine, tmp_path_factory.mktemp("copy"))
        for group, changes in GROUPS.items()
    }
    pool.shutdown(wait=False)
    return futures


@pytest.mark.parametrize("change", CHANGES, ids=[c.name for c in CHANGES])
def test_a_contract_change_reaches_every_consumer(
    change: Change, propagated: dict[str, Future[list[dict[str, Any]]]]
) -> None:
    found = propagated[change.group].result(timeout=900)[GROUPS[change.group].index(change)]
    mock = found["mock"]
    assert mock["submit_code"] == 200 and mock["result_code"] == 200, mock
    assert mock["states"][-1] == "COMPLETED" and not mock["problems"], mock
    client = found["client"]
    assert client["images"] >= 1 and client["image_format"] in ("JPEG", "PNG", "WEBP"), client
    allowed = RELAY_DEVIATIONS if change.provider != "fal" else set()
    failed = {line.split(":", 1)[0] for line in found["checks"]["failed"]}
    assert failed <= allowed and found["checks"]["complete"], found["checks"]
    assert client["cancel_at_once"] in ("CANCELLATION_REQUESTED", "ALREADY_COMPLETED"), client
    change.expect(found)
    suite = found["suite"]
    assert suite["returncode"] == 0 and found["suite_cases"], "\n\n".join([*suite["failures"], suite["tail"]])
    assert any("test_typed_clients" in name for name in found["suite_cases"])  # the whole suite, not a subset
