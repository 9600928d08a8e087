"""The exit statuses ``generate`` and ``check`` share: one table, one meaning per number, listed in both
``--help`` texts (tests/cli/test_conventions.py holds that they list the same one).

- ``OK`` (0): the work is done: ``generate`` saved the images, ``check`` found the provider compatible.
- ``FAILED`` (1): the provider did the work and failed it: ``generate``'s job failed or its result could
  not be saved; ``check`` found an incompatibility (a FAIL).
- ``USAGE`` (2): nothing could be judged or paid for: a bad option, file or input field, no key, a key
  the provider rejects (401/403), a provider that cannot be reached. The message names the option, file,
  field, variable or address.
- ``INTERRUPTED`` (130): Ctrl-C; requests already in the queue were asked to cancel.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["FAILED", "HELP", "INTERRUPTED", "OK", "USAGE", "documented"]

F = TypeVar("F", bound=Callable[..., Any])

OK = 0
FAILED = 1
USAGE = 2
INTERRUPTED = 130

#: the table as both --help texts print it
HELP = (
    f"Exit status: {OK} done (generate: the images were saved; check: compatible); "
    f"{FAILED} the provider failed (generate: the job failed or its images could not be saved; check: an "
    f"incompatibility, a FAIL); {USAGE} usage or connection error, nothing judged: a bad option, file or "
    "input field, no key, a key the provider rejects (401/403), the provider unreachable (the message names "
    f"the option, file, field, variable or address); {INTERRUPTED} interrupted (requests in the queue were "
    "asked to cancel)."
)


def documented(function: F) -> F:
    """Append :data:`HELP` to a command's docstring (put it below the options, right above ``def``)."""
    function.__doc__ = inspect.cleandoc(function.__doc__ or "") + "\n\n" + HELP
    return function
