"""pyproject.toml declares what the code imports, and requirements.in / requirements.lock hold what
pyproject.toml declares: a fresh install from the wheel has every module it needs."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OWN = {"kontext_contract", "kontext_api"}


def _name(requirement: str) -> str:
    """The normalized distribution name of a requirement string (PEP 503)."""
    found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert found, requirement
    return re.sub(r"[-_.]+", "-", found.group(1)).lower()


def _project() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]  # type: ignore[no-any-return]


def _imports(folder: Path) -> dict[str, Path]:
    """Top-level module names imported anywhere under ``folder`` (absolute imports only)."""
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], path)
    return found


#: modules that pytest loads (the pytest11 plugin): what they import is declared in the [test] extra
#: (the plugin imports only pytest until a test asks for its fixture; tests/mock/test_pytest_plugin.py)
TEST_EXTRA_MODULES = {ROOT / "src" / "kontext_contract" / "pytest_plugin.py"}


def test_every_third_party_import_is_a_declared_runtime_dependency() -> None:
    declared = {_name(r) for r in _project()["dependencies"]}  # type: ignore[attr-defined]
    test_extra = declared | {_name(r) for r in _project()["optional-dependencies"]["test"]}  # type: ignore[index]
    providers = packages_distributions()
    missing = []
    for folder in (ROOT / "src" / "kontext_contract", ROOT / "generated" / "kontext_api"):
        for module, path in _imports(folder).items():
            if module in OWN or module in sys.stdlib_module_names or module == "__future__":
                continue
            dists = {_name(d) for d in providers.get(module, [])}
            assert dists, f"{module} (imported by {path.relative_to(ROOT)}) is not installed"
            if not dists & (test_extra if path in TEST_EXTRA_MODULES else declared):
                missing.append(f"{module} ({', '.join(sorted(dists))}) imported by {path.relative_to(ROOT)}")
    assert not missing, "not in [project.dependencies]:\n" + "\n".join(missing)


def test_the_generated_client_needs_nothing_the_project_does_not_declare() -> None:
    generated = tomllib.loads((ROOT / "generated" / "pyproject.toml").read_text(encoding="utf-8"))
    declared = {_name(r) for r in _project()["dependencies"]}  # type: ignore[attr-defined]
    assert {_name(r) for r in generated["project"]["dependencies"]} <= declared


def test_requirements_in_and_lock_hold_every_declared_dependency() -> None:
    project = _project()
    names = {_name(r) for r in project["dependencies"]}  # type: ignore[attr-defined]
    for extra in project["optional-dependencies"].values():  # type: ignore[attr-defined]
        names |= {_name(r) for r in extra}
    lines = (ROOT / "requirements.in").read_text(encoding="utf-8").splitlines()
    listed = {_name(line) for line in lines if line.strip() and not line.lstrip().startswith("#")}
    assert names <= listed, f"declared in pyproject.toml but not in requirements.in: {sorted(names - listed)}"
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pinned = {_name(m) for m in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==\S+ \\$", lock, re.M)}
    assert names <= pinned, f"not pinned in requirements.lock (run `make lock`): {sorted(names - pinned)}"
    assert lock.count("--hash=sha256:") >= len(pinned)


def test_exact_pins_agree_between_pyproject_and_requirements_in() -> None:
    """The tools whose version decides generated/ (and the contract suite) are pinned the same way twice."""
    project = _project()
    pins = {}
    for requirement in [r for extra in project["optional-dependencies"].values() for r in extra]:  # type: ignore[attr-defined]
        if "==" in requirement:
            pins[_name(requirement)] = requirement.split("==", 1)[1].strip()
    text = (ROOT / "requirements.in").read_text(encoding="utf-8")
    for name, version in pins.items():
        spelled = "[-_.]".join(re.escape(part) for part in name.split("-"))
        assert re.search(rf"^{spelled}=={re.escape(version)}$", text, re.M | re.I), f"{name}=={version}"
