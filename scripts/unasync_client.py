"""Write the sync client ``src/kontext_contract/client/_client.py`` from the async one,
``_async_client.py``, with the `unasync` package (as httpcore writes its sync twin), then ruff.

    python scripts/unasync_client.py           # write _client.py       (make unasync)
    python scripts/unasync_client.py --check   # exit 1 if it is stale  (make check-unasync, make lint)

The only source of the client's logic is ``_async_client.py``; ``_client.py`` is committed so that it
can be read, type-checked and imported without a build step, and the check keeps it current.
"""

from __future__ import annotations

import argparse
import difflib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import tokenize_rt  # type: ignore[import-untyped]
import unasync  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "kontext_contract" / "client"
SOURCE = PACKAGE / "_async_client.py"
TARGET = PACKAGE / "_client.py"

#: names unasync changes besides its own (``async``, ``await``, ``__aenter__``, ``AsyncIterator``, and
#: ``AsyncX`` -> ``SyncX`` for any other name, which gives ``AsyncIO`` -> ``SyncIO``)
REPLACEMENTS = {
    "AsyncClient": "Client",  # ours, and httpx.AsyncClient -> httpx.Client
    "AsyncRequestHandle": "RequestHandle",
    "AsyncBaseTransport": "BaseTransport",
    "aclose": "close",
    "aread": "read",
    "aiter_lines": "iter_lines",
    "aiter_bytes": "iter_bytes",
    "aiter_raw": "iter_raw",
    "aclosing": "closing",
    "AsyncExitStack": "ExitStack",
    "enter_async_context": "enter_context",
}

HEADER = (
    "# GENERATED from _async_client.py by scripts/unasync_client.py (`make unasync`): do not edit.\n"
    "# `make lint` fails when this file is not what the script writes.\n"
)


def ruff(*args: str, source: str) -> str:
    """``source`` through the pinned ruff (the project's settings, as if it were ``_client.py``)."""
    exe = Path(sys.executable).with_name("ruff")
    command = [str(exe) if exe.exists() else "ruff", *args, "--stdin-filename", str(TARGET), "-"]
    done = subprocess.run(command, input=source, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode not in (0, 1) or not done.stdout:
        sys.exit(f"error: {' '.join(command[:3])} failed on the unasynced source:\n{done.stderr}")
    return done.stdout


def render() -> str:
    """The sync client, as it must be committed."""
    rule = unasync.Rule(fromdir="/", todir="/", additional_replacements=REPLACEMENTS)
    tokens = tokenize_rt.src_to_tokens(SOURCE.read_text(encoding="utf-8"))
    text = HEADER + tokenize_rt.tokens_to_src(list(rule._unasync_tokens(tokens)))
    # import order after the renames, and ``yield from`` where unasync leaves ``for x in it: yield x``
    text = ruff("check", "--fix-only", "--unsafe-fixes", "--select", "I,F401,UP028", "--quiet", source=text)
    return ruff("format", "--quiet", source=text)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if _client.py is stale")
    args = parser.parse_args()
    wanted = render()
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    if args.check:
        if current == wanted:
            return 0
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            wanted.splitlines(keepends=True),
            fromfile=f"{TARGET.relative_to(ROOT)} (committed)",
            tofile=f"{TARGET.relative_to(ROOT)} (from {SOURCE.name})",
        )
        sys.stderr.write("".join(list(diff)[:80]))
        print(
            f"error: {TARGET.relative_to(ROOT)} is not what {SOURCE.relative_to(ROOT)} generates: "
            "edit the async source and run `make unasync` (never edit _client.py)",
            file=sys.stderr,
        )
        return 1
    if current != wanted:
        with tempfile.NamedTemporaryFile(
            "w", dir=PACKAGE, suffix=".tmp", delete=False, encoding="utf-8"
        ) as out:
            out.write(wanted)
        os.replace(out.name, TARGET)
        print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
