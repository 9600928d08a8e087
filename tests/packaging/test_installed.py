"""The installed product, outside the repository: build the wheel, install it with its declared
dependencies into a fresh virtual environment in a temporary folder, and run there what the README
promises: its client examples against ``kontext-contract mock``, ``kontext-contract check`` against that
mock, and ``kontext-contract generate``.

The dependencies come from the wheel's own metadata (so an undeclared one fails here), pinned to the
versions of ``requirements.lock`` (uv constraints) and taken from uv's cache when it has them
(``--offline`` first; only on a cache miss does uv ask the index).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from kontext_contract.client import MOCK_FAL_KEY, MOCK_RELAY_KEY

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
pytestmark = pytest.mark.slow


def _uv() -> str:
    here = Path(sys.executable).parent / "uv"
    found = str(here) if here.exists() else shutil.which("uv")
    assert found, "uv is not installed beside this Python (make setup installs it) nor on PATH"
    return found


def _run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{' '.join(cmd)} -> exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Installed:
    folder: Path  # the temporary folder outside the checkout; commands run here
    bin: Path  # the fresh environment's bin/

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a person who installed the wheel: no checkout, no project root, no .venv."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("KONTEXT_CONTRACT_ROOT", "PYTHONPATH", "VIRTUAL_ENV", "FAL_KEY", "FAL_KEY_ID")
            and not k.endswith("_KEY")
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env.update(extra)
        return env

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return _run([str(self.bin / args[0]), *args[1:]], cwd=self.folder, env=self.env(**extra))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    folder = tmp_path_factory.mktemp("installed")
    assert ROOT not in folder.resolve().parents
    dist = folder / "dist"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(ROOT),
        ]
    )
    wheels = sorted(dist.glob("*.whl"))
    assert [w.name.split("-")[0] for w in wheels] == ["kontext_contract"], wheels
    venv = folder / "venv"
    uv = _uv()
    _run([uv, "venv", "-q", "-p", sys.executable, str(venv)])
    python = venv / "bin" / "python"
    install = [
        uv,
        "pip",
        "install",
        "-q",
        "-p",
        str(python),
        "-c",
        str(ROOT / "requirements.lock"),
        str(wheels[0]),
    ]
    offline = subprocess.run(
        [*install, "--offline"], capture_output=True, text=True, timeout=120, check=False
    )
    if offline.returncode != 0:  # not everything in uv's cache yet: the same pins, from the index
        _run(install)
    return Installed(folder, venv / "bin")


def test_the_packages_come_from_the_fresh_environment(installed: Installed) -> None:
    done = installed.run(
        "python", "-c", "import kontext_api, kontext_contract, kontext_contract.mock; "
        "print(kontext_api.__file__); print(kontext_contract.__file__)"
    )  # fmt: skip
    for line in done.stdout.splitlines():
        assert Path(line).is_relative_to(installed.bin.parent), line


def test_a_pipeline_command_outside_a_project_says_so(installed: Installed) -> None:
    done = subprocess.run(
        [str(installed.bin / "kontext-contract"), "spec", "check"],
        cwd=installed.folder, env=installed.env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "--root" in done.stderr, done.stderr


def test_the_installed_package_reads_the_contract_it_ships(installed: Installed) -> None:
    code = "from kontext_contract._layout import Layout; print(Layout.shipped().contract)"
    contract = Path(installed.run("python", "-c", code).stdout.strip())
    assert contract.is_relative_to(installed.bin.parent) and contract.is_file()
    assert contract.read_bytes() == (ROOT / "openapi" / "kontext.openapi.yaml").read_bytes()


@contextmanager
def _mock(installed: Installed, provider: str) -> Iterator[str]:
    """``kontext-contract mock`` from the installed environment on a free port; yields its base URL."""
    proc = subprocess.Popen(
        [str(installed.bin / "kontext-contract"), "mock", "--port", "0", "--provider", provider, "--no-access-log"],
        cwd=installed.folder, env=installed.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(30)
    try:
        found = re.search(r"mock on (http://\S+)", first[0] if first else "")
        assert found, f"the mock did not start: {first}"
        yield found.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()


def _readme_examples() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [
        code for code in BLOCK.findall(text) if "kontext_contract.client" in code and "127.0.0.1:8765" in code
    ]


def test_the_readme_has_client_examples() -> None:
    assert len(_readme_examples()) >= 2


@pytest.mark.parametrize("index", [0, 1])
def test_readme_client_example_against_the_installed_mock(installed: Installed, index: int) -> None:
    code = _readme_examples()[index]
    first = code.splitlines()[0]
    env = dict(a.split("=", 1) for a in re.findall(r"\b([A-Z_]+=\S+)", first.split("python")[0]))
    profile = re.search(r"PROVIDER=([\w-]+)", first)
    with _mock(installed, profile.group(1) if profile else "fal") as base:
        script = installed.folder / f"example_{index}.py"
        script.write_text(code.replace("http://127.0.0.1:8765", base), encoding="utf-8")
        done = installed.run("python", str(script), **env)
    assert "COMPLETED" in done.stdout and "/_mock/files/" in done.stdout


def test_check_against_the_installed_mock(installed: Installed) -> None:
    with _mock(installed, "fal") as base:
        done = installed.run(
            "kontext-contract", "check", "--base-url", base, "--run-base-url", f"{base}/run",
            "--report-json", "report.json", FAL_KEY=MOCK_FAL_KEY,
        )  # fmt: skip
    # exit 0: every check PASS or SKIP (a live mock without delays finishes some requests before a cancel)
    assert re.search(r"^COMPATIBLE\b.* 0 fail", done.stdout, re.M), done.stdout
    assert MOCK_FAL_KEY not in done.stdout + done.stderr
    assert (installed.folder / "report.json").is_file()


def test_check_of_a_relay_against_the_installed_mock(installed: Installed) -> None:
    with _mock(installed, "relay-a") as base:
        done = subprocess.run(
            [str(installed.bin / "kontext-contract"), "check", "--provider", "relay-a", "--base-url", base],
            cwd=installed.folder, env=installed.env(RELAY_A_KEY=MOCK_RELAY_KEY),
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # relay A's documented incompatibilities
    assert "FAIL queue_urls_own_host" in done.stdout


def test_generate_against_the_installed_mock(installed: Installed) -> None:
    with _mock(installed, "fal") as base:
        done = installed.run(
            "kontext-contract", "generate", "a red fox in the snow", "--base-url", base, "--out", "images",
            "--output-format", "png", FAL_KEY=MOCK_FAL_KEY,
        )  # fmt: skip
    saved = [installed.folder / line for line in done.stdout.split()]
    assert len(saved) == 1 and saved[0].parent == installed.folder / "images"
    assert saved[0].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "completed" in done.stderr
