"""The fal and relay examples of docs/client.md (and of README.md, once pasted there) run as written
against the mock, over a real socket. Only the port is changed, to a free one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kontext_contract.mock import MockConfig, MockServer

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def examples() -> list[tuple[str, str]]:
    found = []
    for doc in (ROOT / "docs" / "client.md", ROOT / "README.md"):
        text = doc.read_text(encoding="utf-8") if doc.is_file() else ""
        for code in BLOCK.findall(text):
            if "kontext_contract.client" in code and "127.0.0.1:8765" in code:
                found.append((f"{doc.name}:{code.splitlines()[0][:60]}", code))
    return found


EXAMPLES = examples()


def test_the_docs_have_a_fal_and_a_relay_example() -> None:
    kinds = {"relay" if "PROVIDER=relay" in code.splitlines()[0] else "fal" for _, code in EXAMPLES}
    assert kinds == {"fal", "relay"}
    for _, code in EXAMPLES:
        assert len(code.strip().splitlines()) <= 10


@pytest.mark.parametrize(("name", "code"), EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_example_runs_against_the_mock(name: str, code: str, tmp_path: Path) -> None:
    first = code.splitlines()[0]
    # the command as printed: VAR=value ... .venv/bin/python NAME.py (a fresh clone's venv, not a python on PATH)
    command = re.match(r"# ((?:[A-Z_]+=\S+ )+)(\S+) (\w+\.py)\b", first)
    assert command is not None and command.group(2) == ".venv/bin/python", first
    venv_python = ROOT / command.group(2)
    interpreter = str(venv_python) if venv_python.exists() else sys.executable
    env = dict(os.environ)
    for assignment in re.findall(r"\b([A-Z_]+=\S+)", command.group(1)):
        key, value = assignment.split("=", 1)
        env[key] = value
    profile = re.search(r"PROVIDER=([\w-]+)", first)
    with MockServer(MockConfig(provider=profile.group(1) if profile else "fal")) as server:
        script = tmp_path / "example.py"
        script.write_text(code.replace("http://127.0.0.1:8765", server.base_url), encoding="utf-8")
        done = subprocess.run(
            [interpreter, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert "COMPLETED" in done.stdout and "/_mock/files/" in done.stdout
        submits = server.state.stats()["submits_total"]
    assert submits >= 1
