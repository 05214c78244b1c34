"""`studybot server-notes`: the operators' view of a server's own notes, through the same curation service as
the `/corpus` commands (validation, limits, audit; actions from the host are audited with actor id 0)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

HOST_ACTOR = 0  # the audit log's actor for changes made from the host's command line

server_notes_app = typer.Typer(help="A server's own notes (what its moderators curate with /corpus).",
                               no_args_is_help=True)
Guild = Annotated[int, typer.Option("--guild", help="The server (guild) id")]


def _run(action):
    """Open the database and the answering service, restore the servers' notes, then run `action(curation)`."""
    from bot.cli import _service, _settings
    from bot.curation import CurationService
    from bot.study import Store

    settings = _settings()
    answers = _service(progress=False)

    async def main_async():
        async with await Store.open(settings.database_url) as store:
            curation = CurationService(store, answers, settings)
            await curation.restore()
            return await action(curation)

    return asyncio.run(main_async())


@server_notes_app.command("list")
def list_notes(guild: Guild) -> None:
    """The server's own notes and the base notes it hides."""
    from bot.cli import out

    listing = _run(lambda c: c.listing(guild))
    out.print(f"server {guild}: {len(listing.notes)} of {listing.limit} notes", highlight=False)
    for n in listing.notes:
        replaces = " (replaces the base note)" if n.overrides_base else ""
        out.print(f"  {n.id}: {n.title} [{n.discipline}]{replaces}, by {n.updated_by} at {n.updated_at:%Y-%m-%d %H:%M}",
                  highlight=False, markup=False)
    for note_id, title in listing.hidden:
        out.print(f"  hidden: {note_id} ({title})", highlight=False, markup=False)


@server_notes_app.command("add")
def add(guild: Guild, file: Annotated[Path, typer.Argument(help="A note in the corpus format (.md)")]) -> None:
    """Add or replace one of the server's notes (validated like /corpus add; only that note is embedded)."""
    from bot.cli import out
    from bot.errors import InvalidInput

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Cannot read '{file}': {exc.strerror}.") from exc
    change = _run(lambda c: c.add(guild, HOST_ACTOR, file.name, data))
    out.print(f"{change.action} '{change.note_id}' ({change.title}) for server {guild}: "
              f"{change.embedded} passage(s) embedded in {change.seconds:.2f} s", highlight=False, markup=False)


@server_notes_app.command("remove")
def remove(guild: Guild, note_id: Annotated[str, typer.Argument(help="The note id")]) -> None:
    """Remove one of the server's own notes (a base note it replaced comes back)."""
    from bot.cli import out

    change = _run(lambda c: c.remove(guild, HOST_ACTOR, note_id))
    out.print(f"{change.action} '{change.note_id}' for server {guild}", highlight=False, markup=False)


@server_notes_app.command("export")
def export(guild: Guild, to: Annotated[Path, typer.Option("--out", help="Where to write the zip")] = Path("notes.zip")
           ) -> None:
    """The server's notes as a zip of Markdown files (what /corpus export sends)."""
    from bot.cli import out

    to.write_bytes(_run(lambda c: c.export(guild)))
    out.print(f"wrote {to}", highlight=False, markup=False)
