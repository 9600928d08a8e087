"""Run inside a changed copy of the project (``PYTHONPATH`` = the copy's ``src`` and ``generated``,
``KONTEXT_CONTRACT_ROOT`` = the copy): every consumer against the changed contract, with no code edit.

Usage: ``python _scenario.py '<json>'`` with a list of ``{"provider", "endpoint", "body", "invalid"?,
"image_dir", "removed"?}`` (one per change applied to the copy). Prints one JSON list: for each, what the mock
answered, what the client got, what the checks found. Every name below (a parameter, a header, a path, a
code) is asked of the copy's contract model, so a probe follows a renamed one.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from PIL import Image

from kontext_contract.checks import Options, embedded_mock, mock_target, run_checks
from kontext_contract.client import Client, Provider
from kontext_contract.contract import CANCELLATION_REQUESTED, COMPLETED, ContractModel
from kontext_contract.mock import MockConfig, MockServer, create_app
from kontext_contract.mock._config import default_key


def _json_schema_errors(model: ContractModel, op: Any, code: int, body: Any) -> list[str]:
    schema = op.response(code).media.get("application/json")
    return model.validator(schema).messages(body) if schema is not None else []


async def mock_answers(spec: dict[str, Any]) -> dict[str, Any]:
    """Submit, poll the status (by its status field) and fetch the result straight from the mock; hold each
    answer to the contract model: the status code of each state, each body against its schema."""
    provider, endpoint_id, body = spec["provider"], spec["endpoint"], spec["body"]
    model = ContractModel.load(provider)
    endpoint = model.endpoint(endpoint_id)
    app = create_app(MockConfig(provider=provider, deterministic=True, queue_delay=0.5, processing_delay=0.5))
    facts = model.provider
    headers = {facts.auth_header: facts.authorization(default_key(facts.auth_scheme))}
    out: dict[str, Any] = {"problems": [], "states": [], "codes": {}}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        submitted = await http.post(endpoint.submit.path, json=body, headers=headers)
        out["submit_code"] = submitted.status_code
        out["submit_headers"] = sorted(k.lower() for k in submitted.headers)
        out["problems"] += _json_schema_errors(model, endpoint.submit, 200, submitted.json())
        answer = submitted.json()
        out["status_url_path"] = urlsplit(answer["status_url"]).path
        for _ in range(50):
            status = await http.get(urlsplit(answer["status_url"]).path, headers=headers)
            state = status.json()["status"]
            out["states"].append(state)
            out["codes"][state] = status.status_code
            if status.status_code != model.status_code(state):
                out["problems"].append(
                    f"{state} answered {status.status_code}, the contract says {model.status_code(state)}"
                )
            out["problems"] += _json_schema_errors(
                model, endpoint.request("status"), status.status_code, status.json()
            )
            if state == COMPLETED:
                break
            app.mock.advance(0.3)
        logs = model.find_parameter("Logs")
        if logs is not None and logs.location == "query":
            asked = await http.get(status_path(answer), params={logs.name: logs.flag(True)}, headers=headers)
            out["logs_asked"] = asked.json().get("logs")
            old = await http.get(status_path(answer), params={"logs": "1"}, headers=headers)
            out["logs_under_old_name"] = old.json().get("logs") if logs.name != "logs" else "(same name)"
        result = await http.get(urlsplit(answer["response_url"]).path, headers=headers)
        out["result_code"] = result.status_code
        output = result.json()
        out["output_keys"] = sorted(output)
        out["problems"] += endpoint.output_validator.messages(output)
        if spec.get("invalid") is not None:
            bad = await http.post(endpoint.submit.path, json=spec["invalid"], headers=headers)
            app.mock.advance(5)
            refused = await http.get(urlsplit(bad.json()["response_url"]).path, headers=headers)
            out["invalid_code"] = refused.status_code
            out["invalid_locs"] = [item["loc"] for item in refused.json().get("detail", [])]
        # cancel at once: the code the mock answers CANCELLATION_REQUESTED with
        fresh = (await http.post(endpoint.submit.path, json=body, headers=headers)).json()
        cancel = endpoint.request("cancel")
        cancelled = await http.request(cancel.method, urlsplit(fresh["cancel_url"]).path, headers=headers)
        out["cancel_at_once"] = [cancelled.status_code, cancelled.json().get("status")]
        if cancelled.status_code != model.cancel_code(CANCELLATION_REQUESTED):
            out["problems"].append(f"cancel at once answered {cancelled.status_code}")
        # the start deadline, sent as the contract names it: shorter than the queue wait, the request fails
        deadline = model.find_parameter("RequestTimeout")
        if deadline is not None and deadline.location == "header":
            late = await http.post(endpoint.submit.path, json=body, headers={**headers, deadline.name: "0.2"})
            app.mock.advance(5)
            failed = await http.get(urlsplit(late.json()["response_url"]).path, headers=headers)
            out["deadline"] = [deadline.name, failed.status_code, failed.json().get("error_type")]
        if spec.get("removed"):
            gone = await http.post("/" + spec["removed"], json=body, headers=headers)
            out["removed_submit_code"] = gone.status_code
    return out


def status_path(answer: dict[str, Any]) -> str:
    return str(urlsplit(answer["status_url"]).path)


def client_flow(spec: dict[str, Any]) -> dict[str, Any]:
    """The hand-written client over a real socket: subscribe, then save the first image."""
    provider, endpoint_id, body = spec["provider"], spec["endpoint"], spec["body"]
    config = MockConfig(provider=provider, queue_delay=0.05, processing_delay=0.05)
    with MockServer(config) as server, Client(Provider.mock(server.base_url, profile=provider)) as client:
        output = client.subscribe(endpoint_id, body)
        saved = client.save_image(output.images[0], Path(spec["image_dir"]) / "first")
        with Image.open(saved) as image:
            image_format = image.format
        found: dict[str, Any] = {
            "output_model": type(output).__name__,
            "output": output.to_dict(),
            "images": len(output.images),
            "saved": saved.name,
            "image_format": image_format,
        }
        if client.provider.run_base_url is not None:
            found["run_output_model"] = type(client.run(endpoint_id, body)).__name__
        found["cancel_at_once"] = client.submit(endpoint_id, body).cancel()
        found["status_with_logs"] = type(client.submit(endpoint_id, body).status(with_logs=True)).__name__
        if spec.get("removed"):
            try:
                client.submit(spec["removed"], body)
                found["removed"] = "accepted"
            except Exception as exc:
                found["removed"] = type(exc).__name__
    found["output"].pop("images", None)
    return found


def checks(spec: dict[str, Any]) -> dict[str, Any]:
    """``kontext-contract check``'s battery against the mock's emulation of the provider."""
    contract = ContractModel.load(spec["provider"]).require()
    with embedded_mock(spec["provider"]) as server:
        # the matrix's options (kontext-contract matrix): the deterministic mock needs no real waiting
        options = Options(endpoints=(spec["endpoint"],), max_paid_submits=1000, poll_interval=0.001)
        report = run_checks(mock_target(contract, server), options)
    return {
        "failed": sorted(f"{r.name}: {r.evidence.text()}" for r in report.results if r.status == "fail"),
        "passed": len([r for r in report.results if r.status == "pass"]),
        "complete": report.complete,
    }


def main() -> None:
    found = [
        {"mock": asyncio.run(mock_answers(spec)), "client": client_flow(spec), "checks": checks(spec)}
        for spec in json.loads(sys.argv[1])
    ]
    print(json.dumps(found, default=str))


if __name__ == "__main__":
    main()
