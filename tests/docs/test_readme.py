"""The README keeps what it promises: the two commands, the matrix `make matrix` wrote, the demo's contract line."""

from __future__ import annotations

import re

from kontext_contract._demo import contract_line
from kontext_contract._layout import Layout
from kontext_contract.pipeline import build
from scripts.embed_matrix import END, START, embed, matrix_table


def test_readme_shows_the_two_commands_near_the_top(layout: Layout) -> None:
    head = "\n".join((layout.root / "README.md").read_text(encoding="utf-8").splitlines()[:30])
    assert "make demo" in head and "make test" in head


def test_readme_matrix_is_the_one_make_matrix_wrote(layout: Layout) -> None:
    readme = (layout.root / "README.md").read_text(encoding="utf-8")
    table = matrix_table((layout.root / "docs" / "compatibility.md").read_text(encoding="utf-8"))
    assert embed(readme, table) == readme, "README's matrix is stale: run `make matrix`"
    assert readme.index(START) < readme.index(END)


def test_readme_demo_summary_states_the_contract_as_built(layout: Layout) -> None:
    """The README's sample of `make demo` shows the contract line the current build prints."""
    readme = (layout.root / "README.md").read_text(encoding="utf-8")
    line = contract_line(build(layout))
    assert line in readme, f"README's demo summary is stale; `make demo` prints:\n{line}"


def _summary_block(readme: str) -> list[str]:
    start = readme.index("```\n== Summary\n") + len("```\n== Summary\n")
    return readme[start : readme.index("```", start)].rstrip("\n").splitlines()


def test_readme_demo_summary_is_what_the_demo_prints(layout: Layout) -> None:
    """Every line of the README's sample summary is the demo's own line: the contract as built, the client's
    request count, the verdicts of the matrix page, the suite's counts and the time in the demo's format,
    the time within the range the README states at the top."""
    from kontext_contract._demo import _SuiteResult, summary_lines
    from kontext_contract.client import Endpoint

    readme = (layout.root / "README.md").read_text(encoding="utf-8")
    shown = _summary_block(readme)
    suite = re.fullmatch(r"  contract suite: (\d+) cases, (\d+) checks run, 0 failed", shown[2])
    seconds = re.fullmatch(r"  \((\d+\.\d) s\)", shown[-1])
    assert suite and seconds, shown
    table = matrix_table((layout.root / "docs" / "compatibility.md").read_text(encoding="utf-8"))
    rows = [
        [c.strip() for c in line.strip("|").split("|")] for line in table.splitlines() if line.startswith("|")
    ]
    providers = [c.strip("`") for c in rows[0][1:]]
    verdicts = []
    for column, provider in enumerate(providers, 1):
        failing = [row[0].split("`")[1] for row in rows[3:] if row[column] == "FAIL"]
        verdicts.append((provider, f"{len(failing)} FAIL" if failing else "compatible", ", ".join(failing)))
    expected = summary_lines(
        build(layout),
        len(Endpoint),
        _SuiteResult(int(suite[1]), int(suite[2]), 0, True),
        verdicts,
        float(seconds[1]),
    )
    assert shown == expected
    low, high = map(int, re.search(r"make demo .*\(about (\d+)-(\d+) s after setup", readme).groups())  # type: ignore[union-attr]
    assert low <= float(seconds[1]) <= high
