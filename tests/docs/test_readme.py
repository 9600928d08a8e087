"""The README keeps what it promises: the two commands, the matrix `make matrix` wrote, the demo's contract line."""

from __future__ import annotations

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
