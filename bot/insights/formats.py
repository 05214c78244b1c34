"""A gap report as Markdown, CSV or JSON (the CLI's `--format`). The anonymised report carries no ids at all."""

from __future__ import annotations

import csv
import io
import json

from bot.insights.gaps import GapGroup, GapReport
from bot.study.storage import to_db_time

FORMATS = ("md", "csv", "json")


def _scope(report: GapReport) -> str:
    return "all servers (anonymised)" if report.anonymous else f"server {report.guild_id}"


def _closest(group: GapGroup) -> str:
    return "; ".join(f"{c.note_id} ({c.score:.2f})" for c in group.closest)


def group_dict(group: GapGroup, anonymous: bool) -> dict:
    out = {
        "size": group.size, "refused": group.refused, "downvoted": group.downvoted,
        "suggested_id": group.suggested_id, "suggested_title": group.suggested_title,
        "discipline": group.discipline, "examples": list(group.examples), "questions": list(group.questions),
        "closest": [{"id": c.note_id, "title": c.title, "score": c.score} for c in group.closest],
        "reasons": list(group.reasons),
    }
    if not anonymous:
        out["key"] = group.key
    return out


def to_json(report: GapReport) -> str:
    body = {"scope": "all" if report.anonymous else "guild", "days": report.days, "since": to_db_time(report.since),
            "min_count": report.min_count, "considered": report.considered, "truncated": report.truncated,
            "smaller_groups": report.smaller,
            "groups": [group_dict(g, report.anonymous) for g in report.groups]}
    if not report.anonymous:
        body["guild_id"] = report.guild_id
    return json.dumps(body, ensure_ascii=False, indent=1)


def to_csv(report: GapReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["rank", "size", "refused", "downvoted", "suggested_id", "suggested_title", "discipline",
                     "examples", "closest_notes", "reasons"])
    for rank, g in enumerate(report.groups, 1):
        writer.writerow([rank, g.size, g.refused, g.downvoted, g.suggested_id, g.suggested_title, g.discipline,
                         " | ".join(g.examples), _closest(g), " | ".join(g.reasons)])
    return buffer.getvalue()


def to_markdown(report: GapReport) -> str:
    lines = [f"# Gap report: {_scope(report)}, last {report.days} days", "",
             f"{report.considered} refused or 👎-rated question(s) in {len(report.groups)} group(s) of at least "
             f"{report.min_count}" + (f"; {report.smaller} smaller group(s) not shown" if report.smaller else "")
             + (" (only the newest were considered)" if report.truncated else "") + ".", ""]
    if not report.groups:
        lines.append("Nothing to report: every question in that window was answered and none was rated 👎.")
    for rank, g in enumerate(report.groups, 1):
        lines += [f"## {rank}. {g.suggested_title} ({g.size} question(s))", "",
                  f"- suggested note: `{g.suggested_id}` ({g.discipline}); {g.refused} refused, {g.downvoted} rated 👎",
                  f"- closest notes: {_closest(g) or 'none'}", "- examples:"]
        lines += [f"  - {q}" for q in g.examples]
        if g.reasons:
            lines.append("- 👎 reasons:")
            lines += [f"  - {r}" for r in g.reasons]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render(report: GapReport, fmt: str) -> str:
    if fmt == "json":
        return to_json(report)
    if fmt == "csv":
        return to_csv(report)
    return to_markdown(report)
