"""Library errors as a person at the command line reads them: the option they typed, not the Python
argument. Library errors carry the field they concern as an attribute (``field``, ``problem``:
:class:`kontext_contract.client.ConfigurationError`, :class:`kontext_contract.mock.MockConfigError`);
this module maps the field to the option of the running command. Nothing here reads message text."""

from __future__ import annotations

from collections.abc import Mapping

import click

__all__ = ["field_error", "option_for"]


def option_for(field: str, aliases: Mapping[str, str] | None = None) -> str:
    """The option of the running command that sets ``field``: ``aliases[field]`` if given, else the option
    whose parameter is named ``field`` (``queue_delay`` -> ``--queue-delay``; an argument: ``PROMPT``),
    else ``--`` + the field with dashes."""
    if aliases and field in aliases:
        return aliases[field]
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        for param in ctx.command.params:
            if param.name == field:
                return param.opts[0] if isinstance(param, click.Option) else field.upper()
    return "--" + field.replace("_", "-")


def field_error(
    field: str | None, problem: str, aliases: Mapping[str, str] | None = None
) -> click.UsageError:
    """A usage error (exit 2) naming the option that sets ``field`` (or only ``problem`` without one)."""
    if field is None:
        return click.UsageError(problem)
    return click.BadParameter(problem, param_hint=option_for(field, aliases))
