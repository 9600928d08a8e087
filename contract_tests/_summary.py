"""The Markdown summary of a run: operations x checks with pass/fail counts, cases, checks and time."""

from __future__ import annotations

from ._harness import Profile, Record

__all__ = ["render_summary"]


def _cell(passed: int, failed: int) -> str:
    if not passed and not failed:
        return "-"
    if failed:
        return f"FAIL {failed}/{passed + failed}"
    return f"ok {passed}"


def render_summary(record: Record, *, profile: Profile, seed: int, elapsed: float) -> str:
    """The summary as Markdown: totals, then one table per target and provider document (rows: the
    document's operations; columns: every check that ran; cells: ``ok N`` or ``FAIL f/N``)."""
    cases, checks, failures = record.cases, record.checks, record.failures
    rate = cases / elapsed if elapsed > 0 else 0.0
    lines = [
        "# Contract suite summary",
        "",
        f"- profile `{profile.name}`, seed `{seed}` (reproduce: `KONTEXT_CONTRACT_SEED={seed} "
        f"HYPOTHESIS_PROFILE={profile.name} make contract`)",
        f"- **{cases} cases** sent, **{checks} checks** run, **{failures} failed**, in {elapsed:.1f} s "
        f"({rate:.0f} cases/s over the whole session)",
    ]
    targets = sorted({key[0] for key in record.rows})
    for target in targets:
        lines.append(f"- {target}: {record.cases_for(target)} cases")
    if profile.min_cases:
        lines.append(
            f"- floor of the profile: {profile.min_cases} in-process cases "
            f"({'met' if record.cases_for('in-process') >= profile.min_cases else 'NOT met'})"
        )
    names = record.check_names()
    for target in targets:
        providers = sorted({key[1] for key in record.rows if key[0] == target})
        for provider in providers:
            rows = sorted((key[2], row) for key, row in record.rows.items() if key[:2] == (target, provider))
            lines += ["", f"## {target} / {provider}", ""]
            lines.append("| operation | cases (+/-) | " + " | ".join(names) + " |")
            lines.append("|---|---|" + "---|" * len(names))
            for label, row in rows:
                cells = [_cell(row.passed[name], row.failed[name]) for name in names]
                lines.append(
                    f"| `{label}` | {row.cases} ({row.positive}/{row.negative}) | " + " | ".join(cells) + " |"
                )
    if record.routed:
        lines += [
            "",
            "## Checks not asked of some cases (each for a stated reason, each with its own test)",
            "",
        ]
        for reason, count in sorted(record.routed.items()):
            lines.append(f"- {count} cases: {reason}")
    return "\n".join(lines) + "\n"
