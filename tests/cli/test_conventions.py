"""One command-line convention, held over the whole command tree (every subcommand's --help, as click
builds it): the same option name for the same thing, --root wherever a project folder is read, exit
statuses in every --help, errors that name the option a person typed."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kontext_contract import cli
from kontext_contract.cli import main

CLI_PACKAGE = Path(cli.__file__).parent
SRC = CLI_PACKAGE.parent

# The one name for each thing; the names on the right are the ones it replaced and must not come back.
RETIRED = {
    "--output": "--report-md / --report-json",
    "--format": "--report-md / --report-json",
    "--run-url": "--run-base-url",
    "--timeout": "--wait-timeout",
    "--report": "--report-json",
    "--json": "--report-json",
}
REPORT_OPTIONS = {"--report-json", "--report-md", "--report-html", "--junit"}
#: commands whose --json is a flag printing their listing as JSON on stdout (issue 17: `requests list
#: --json`), not a report file; it takes no value
STDOUT_JSON = {("requests", "list"), ("requests", "show")}


def _walk(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, name
            yield from _walk(sub, (*path, name))


COMMANDS = list(_walk(main))
LEAVES = [(path, cmd) for path, cmd in COMMANDS if not isinstance(cmd, click.Group)]
IDS = [" ".join(path) or "kontext-contract" for path, _ in COMMANDS]
LEAF_IDS = [" ".join(path) for path, _ in LEAVES]


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(main, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def _options(command: click.Command) -> dict[str, click.Option]:
    return {
        name: param
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden
        for name in (*param.opts, *param.secondary_opts)
    }


def test_the_tree_is_walked() -> None:
    names = {" ".join(path) for path, _ in LEAVES}
    assert {"check", "matrix", "mock", "generate", "diff", "demo", "spec build", "sources check"} <= names
    assert {"codegen generate", "codegen check"} <= names


def test_one_module_per_command() -> None:
    """Every top-level command is the ``command`` of its own module cli/_<name>.py (the hidden old name
    ``client`` lives beside ``codegen``), and nothing outside cli/ defines a click command."""
    for name, command in main.commands.items():
        module = command.callback.__module__ if command.callback else ""
        expected = "codegen" if name == "client" else name
        assert module == f"kontext_contract.cli._{expected}", f"{name}: defined in {module}"
    for path in SRC.rglob("*.py"):
        if CLI_PACKAGE in path.parents:
            continue
        text = path.read_text(encoding="utf-8")
        assert "@click.command" not in text and "@click.group" not in text, f"{path}: a command outside cli/"


def test_no_late_imports_in_the_cli() -> None:
    """Commands are imported at the top of cli/__init__.py, not appended at the bottom (# noqa: E402)."""
    for path in CLI_PACKAGE.glob("*.py"):
        assert "noqa: E402" not in path.read_text(encoding="utf-8"), path


def test_shared_options_are_declared_once() -> None:
    """--base-url, --run-base-url, --key-env, --provider, --wait-timeout and the report options are
    declared only in cli/_options.py; commands use its declarations."""
    shared = {
        "--root",
        "--base-url",
        "--run-base-url",
        "--key-env",
        "--provider",
        "--wait-timeout",
        "--report-json",
        "--report-md",
        "--junit",
    }
    for path in CLI_PACKAGE.glob("*.py"):
        if path.name == "_options.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "option"
            ):
                names = {
                    a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                }
                assert not names & shared, f"{path.name}: declares {names & shared}; use cli/_options.py"


def test_no_message_text_is_parsed_for_option_names() -> None:
    """Errors carry the field they concern; the CLI never turns message text into option names."""
    for path in CLI_PACKAGE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "re.sub(" not in text and '.replace("pass ' not in text, path


def test_the_old_codegen_name_still_works_hidden() -> None:
    result = CliRunner().invoke(main, ["client", "--help"])
    assert result.exit_code == 0 and "check" in result.output and "generate" in result.output
    assert main.commands["client"].hidden
    top = CliRunner().invoke(main, ["--help"]).output
    assert "codegen" in top and "  client" not in top


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_help_lists_the_exit_statuses(path: tuple[str, ...], command: click.Command) -> None:
    text = " ".join(_help(path).split())
    assert "Exit status: 0 " in text, f"{' '.join(path)} --help does not list its exit statuses"
    if not isinstance(command, click.Group):
        assert re.search(r"\b2 usage\b", text), "exit status 2 is a usage error everywhere"


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=LEAF_IDS)
def test_every_subcommand_takes_root(path: tuple[str, ...], command: click.Command) -> None:
    """Every subcommand reads the project folder (the contract, the provider documents or the sources)."""
    options = _options(command)
    assert "--root" in options
    assert options["--root"].metavar == "DIR"


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=LEAF_IDS)
def test_one_name_for_one_thing(path: tuple[str, ...], command: click.Command) -> None:
    options = _options(command)
    for name, replacement in RETIRED.items():
        if name == "--json" and path in STDOUT_JSON:
            assert options[name].is_flag, f"{' '.join(path)} --json prints to stdout: a flag"
            continue
        assert name not in options, f"{' '.join(path)} {name}: the convention is {replacement}"
    reports = {n for n in options if n.startswith("--report") or n == "--junit"}
    assert reports <= REPORT_OPTIONS, reports
    for name in reports:
        assert options[name].metavar == "PATH"
    if "--base-url" in options:  # always the provider's (the mock's own URL is --public-url)
        assert "provider" in (options["--base-url"].help or "")
    if "--key-env" in options:  # the default is the provider document's
        assert "x-provider.auth.key_env" in (options["--key-env"].help or "")
        assert options["--key-env"].metavar == "VAR"


def test_shared_options_mean_the_same_everywhere() -> None:
    """An option name that several subcommands take has the same kind of value in each."""
    seen: dict[str, tuple[str, type]] = {}
    for path, command in LEAVES:
        for name, option in _options(command).items():
            kind = type(option.type)
            if name in seen and name not in ("--endpoint", "--provider"):  # choices differ per command
                assert seen[name][1] is kind, f"{name}: {seen[name][0]} and {' '.join(path)} differ"
            seen.setdefault(name, (" ".join(path), kind))


def test_the_mock_has_no_base_url_of_its_own() -> None:
    options = _options(main.commands["mock"])
    assert "--base-url" not in options and "--public-url" in options


# A person's mistakes and the option each error must name (never a Python argument like base_url=).
MISTAKES = [
    (["generate", "a fox", "--provider", "relay-b"], {}, "--base-url"),
    (["generate", "a fox", "--base-url", "ftp://example.com"], {"FAL_KEY": "k:s"}, "--base-url"),
    (["generate", "a fox", "--run-base-url", "nope"], {"FAL_KEY": "k:s"}, "--run-base-url"),
    (
        ["generate", "a fox", "--run", "--base-url", "http://127.0.0.1:9"],
        {"FAL_KEY": "k:s"},
        "--run-base-url",
    ),
    (
        ["generate", "a fox", "--run", "--provider", "relay-a", "--base-url", "http://127.0.0.1:9"],
        {"RELAY_A_KEY": "k"},
        "--run-base-url",
    ),
    (["generate", "a fox", "--key-env", "NO_SUCH_VARIABLE_X"], {}, "--key-env"),
    (["generate", "a fox"], {"FAL_KEY": "", "FAL_KEY_ID": "", "FAL_KEY_SECRET": ""}, "--key-env"),
    (["generate", "a fox", "--provider", "relay"], {}, "--base-url"),
    (["check", "--base-url", "ftp://example.com", "--key-env", "K"], {"K": "k"}, "--base-url"),
    (["check", "--provider", "nope"], {}, "--provider"),
    (["check", "--root", "/"], {}, "--root"),
    (["mock", "--public-url", "ftp://example.com"], {}, "--public-url"),
    (["mock", "--queue-delay", "inf"], {}, "--queue-delay"),
    (["matrix", "--root", "/"], {}, "--root"),
    (["spec", "build", "--root", "/"], {}, "--root"),
]


@pytest.mark.parametrize(("args", "env", "option"), MISTAKES, ids=[" ".join(a[:3]) for a, _, _ in MISTAKES])
def test_errors_name_the_option_typed(args: list[str], env: dict[str, str], option: str) -> None:
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 2, result.output
    assert option in result.output, result.output
    assert "Traceback" not in result.output
    for python_name in ("base_url=", "key=", "queue_delay", "run_base_url", "key_env"):
        assert python_name not in result.output, result.output


def test_known_providers_are_listed_once() -> None:
    result = CliRunner().invoke(main, ["check", "--provider", "nope"])
    assert result.output.count("known providers") == 1, result.output
    assert "fal, relay-a" in result.output


def test_root_reads_that_folder(tmp_path: Path, layout: object) -> None:
    """--root points every reader at the folder given, for that command only."""
    import shutil

    from kontext_contract import _layout
    from kontext_contract._layout import Layout

    assert isinstance(layout, Layout)
    shutil.copytree(layout.root / "openapi", tmp_path / "openapi")
    (tmp_path / "openapi" / "providers" / "fal.openapi.yaml").unlink()
    result = CliRunner().invoke(main, ["check", "--root", str(tmp_path), "--dry-run"])
    assert result.exit_code == 2 and str(tmp_path) in result.output, result.output
    assert _layout.shipped_root() != tmp_path.resolve()  # only for that command


def _exit_table(path: tuple[str, ...]) -> str:
    text = " ".join(_help(path).split())
    start = text.index("Exit status: 0 ")
    return text[start : text.index(" Options:", start)]


def test_generate_and_check_list_one_table_of_exit_statuses() -> None:
    """``generate`` and ``check`` share cli._exit: the same statuses, the same words, in both --help texts,
    and the numbers each command exits with are the table's."""
    from kontext_contract.cli import _exit

    table = _exit_table(("generate",))
    assert table == _exit_table(("check",))
    assert table == " ".join(_exit.HELP.split())
    for status in (_exit.OK, _exit.FAILED, _exit.USAGE, _exit.INTERRUPTED):
        assert f" {status} " in f" {table}"
    for name in ("_generate.py", "_check.py"):
        code = (CLI_PACKAGE / name).read_text(encoding="utf-8")
        assert not re.search(r"sys\.exit\(\d+\)|return [0-9]+\b", code), f"{name}: exits with a bare number"
