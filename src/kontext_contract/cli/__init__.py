"""The ``kontext-contract`` command line (the console script in pyproject.toml ``[project.scripts]``).

One module per command, named after it (``_spec``, ``_codegen``, ``_diff``, ``_sources``, ``_demo``,
``_mock``, ``_generate``, ``_check``, ``_matrix``); each defines ``command`` (a ``click.Command`` or
``click.Group``) and only the glue between options and the library: the work itself lives in the library
packages (``pipeline``, ``client``, ``mock``, ``checks``, ``drift``).

To add a command:
    1. write ``cli/_name.py`` with ``command = click.command("name")(...)``, its options taken from
       ``cli/_options.py`` where one exists (``--root``, ``--base-url``, ``--run-base-url``, ``--key-env``,
       ``--provider``, ``--wait-timeout``, ``--report-json/--report-md/--junit``), ``@root_option`` last;
    2. give its ``--help`` an ``Exit status: 0 ...; 2 usage error ...`` line (``cli._exit`` has the table
       ``generate`` and ``check`` share);
    3. add it to ``LAZY_COMMANDS`` below. tests/cli/test_conventions.py then holds it to the convention.

To add an option several commands take: declare it once in ``cli/_options.py`` (a decorator factory whose
arguments are only what differs: the default and its help) and use it in each command.

Errors: a library error that concerns one argument or setting carries it as ``field`` (and ``problem``);
``cli._errors.field_error`` turns it into a usage error naming the option (exit 2). Never match message text.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

__all__ = ["COMMANDS", "main"]

#: Every command of the tree, in --help order (click sorts them by name): its name -> the module of
#: ``cli`` defining it and the attribute. A command's module (and the library it needs) is imported only
#: when that command runs or a listing asks for it, so ``kontext-contract mock`` never imports the checks,
#: nor ``generate`` the pipeline (click's documented "lazily loading subcommands" pattern).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "spec": ("_spec", "command"),
    "codegen": ("_codegen", "command"),
    "client": ("_codegen", "old_name"),
    "diff": ("_diff", "command"),
    "sources": ("_sources", "command"),
    "demo": ("_demo", "command"),
    "mock": ("_mock", "command"),
    "generate": ("_generate", "command"),
    "requests": ("_requests", "command"),
    "check": ("_check", "command"),
    "matrix": ("_matrix", "command"),
}


def _load(name: str) -> click.Command:
    module, attribute = LAZY_COMMANDS[name]
    command = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    if not isinstance(command, click.Command) or command.name != name:
        raise TypeError(f"cli.{module}.{attribute} is not the click command {name!r}")
    return command


class _LazyGroup(click.Group):
    """A group whose subcommands are imported when first asked for (:data:`LAZY_COMMANDS`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            self.add_command(_load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kontext-contract")
def main() -> None:
    """One contract for FLUX.1 Kontext [pro]: build it, generate its client, check providers against it.

    Every subcommand: --root DIR is the project folder it reads, --base-url the provider's base URL,
    --report-json/--report-md/--junit PATH the report files; its --help lists its exit statuses.

    Exit status: 0 success; 1 the check or job failed; 2 usage error or bad input (the message names the
    option, file or field).
    """


def __getattr__(name: str) -> Any:
    """``COMMANDS``: every command of the tree, loaded (tests and tools walking the tree)."""
    if name == "COMMANDS":
        return tuple(_load(command) for command in LAZY_COMMANDS)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
