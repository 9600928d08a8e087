"""Print the OpenAPI YAML block of a published API page (the ```yaml fence of an apifox export).

This is how openapi/sources/003-*.yaml and 004-*.yaml were made from the published pages (docs/sources.md §1): the block is
kept byte for byte; a repair, if one is needed to parse it, is recorded in the manifest, not here.

Usage: .venv/bin/python scripts/extract_published_yaml.py PAGE.txt > openapi/sources/NNN-name.yaml
Exit status 1 (with the file named) when the page has no yaml block.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

FENCE = re.compile(r"^```yaml\n(.*?)^```", re.S | re.M)


def extract(text: str) -> str | None:
    """The first ```yaml block of ``text``, without the fences; None when there is none."""
    match = FENCE.search(text)
    return match.group(1) if match else None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    page = Path(argv[0])
    block = extract(page.read_text(encoding="utf-8"))
    if block is None:
        print(f"error: {page}: no ```yaml block found (expected an OpenAPI export page)", file=sys.stderr)
        return 1
    sys.stdout.write(block)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
