"""Speed of `make spec client`: the time of each stage (merge, overlays, validate, generate), median of
several runs, and the ratio to the 5 s budget of the pipeline issue. Run: `make bench` or
`.venv/bin/python bench/bench_spec.py [RUNS]`."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from kontext_contract import codegen
from kontext_contract._layout import Layout
from kontext_contract.pipeline import build

BUDGET_S = 5.0


def main(runs: int) -> None:
    layout = Layout.discover(Path(__file__).resolve().parent)
    stages: dict[str, list[float]] = {"merge": [], "overlays": [], "validate": [], "generate": []}
    for _ in range(runs):
        result = build(layout)
        for key, value in result.timings.items():
            stages[key].append(value)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            codegen.generate_into(layout, Path(tmp) / "generated")
            stages["generate"].append(time.perf_counter() - started)
    medians = {k: statistics.median(v) for k, v in stages.items()}
    total = sum(medians.values())
    print(f"make spec client, median of {runs} runs (warm venv):")
    for key, value in medians.items():
        print(f"  {key:9} {value * 1000:8.0f} ms  ({value / total:5.1%} of the total)")
    print(f"  {'total':9} {total * 1000:8.0f} ms  = {total / BUDGET_S:.2f} x the {BUDGET_S:.0f} s budget")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
