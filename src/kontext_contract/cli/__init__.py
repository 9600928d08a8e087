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
    3. add it to ``COMMANDS`` below. tests/cli/test_conventions.py then holds it to the convention.

To add an option several commands take: declare it once in ``cli/_options.py`` (a decorator factory whose
arguments are only what differs: the default and its help) and use it in each command.

Errors: a library error that concerns one argument or setting carries it as ``field`` (and ``problem``);
``cli._errors.field_error`` turns it into a usage error naming the option (exit 2). Never match message text.
"""

from __future__ import annotations

import click

from . import _check, _codegen, _demo, _diff, _generate, _matrix, _mock, _requests, _sources, _spec

__all__ = ["COMMANDS", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kontext-contract")
def main() -> None:
    """One contract for FLUX.1 Kontext [pro]: build it, generate its client, check providers against it.

    Every subcommand: --root DIR is the project folder it reads, --base-url the provider's base URL,
    --report-json/--report-md/--junit PATH the report files; its --help lists its exit statuses.

    Exit status: 0 success; 1 the check or job failed; 2 usage error or bad input (the message names the
    option, file or field).
    """


#: Every command of the tree, in --help order (click sorts them by name).
COMMANDS: tuple[click.Command, ...] = (
    _spec.command,
    _codegen.command,
    _codegen.old_name,
    _diff.command,
    _sources.command,
    _demo.command,
    _mock.command,
    _generate.command,
    _requests.command,
    _check.command,
    _matrix.command,
)
for _command in COMMANDS:
    main.add_command(_command)
