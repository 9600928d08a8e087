"""``kontext-contract demo``: the main job end to end, with a summary."""

from __future__ import annotations

from pathlib import Path

import click

from ._options import root_option
from ._project import project_layout

__all__ = ["command"]


@click.command("demo")
@root_option
def command(root: Path | None) -> None:
    """The main job: build the contract from the five documents, verify the client, print a summary.

    Runs in a checkout (it regenerates the client and runs the contract suite of contract_tests/).

    Exit status: 0 every stage passed; 1 a stage failed (the message says which); 2 usage error.
    """
    from .._demo import run_demo

    run_demo(project_layout(root))
