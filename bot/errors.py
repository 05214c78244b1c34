"""Domain errors. Each carries a message fit to show a user; the CLI and the Discord error handler render it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One validation problem, printed as `path:line: message`."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class StudybotError(Exception):
    """Base class: `str(error)` is a friendly, complete message for a user."""


class CorpusInvalid(StudybotError):
    """The corpus on disk has problems; nothing was loaded or swapped."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        shown = "\n".join(str(p) for p in self.problems[:20])
        more = f"\n… and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"The corpus has {len(self.problems)} problem(s):\n{shown}{more}")


class CorpusNotFound(StudybotError):
    """The corpus folder does not exist."""


class IndexUnavailable(StudybotError):
    """No usable index: missing, corrupted, or built for another model or format."""


class IndexMismatch(IndexUnavailable):
    """The index on disk was built with another model, dimension or format version."""


class IndexCorrupted(IndexUnavailable):
    """An index file is missing, truncated or does not match its manifest checksum."""


class StorageUnavailable(StudybotError):
    """The database (or its folder) cannot be opened or written: missing, read-only, full, no permission."""


class ModelUnavailable(StudybotError):
    """The embedding model could not be loaded (offline, wrong path or name)."""


class InvalidInput(StudybotError):
    """Input a user gave that cannot be used as it is (too long, empty, malformed)."""


class NotFound(StudybotError):
    """A named thing (note, group, session) does not exist."""


class PermissionDenied(StudybotError):
    """The user may not do this."""


class Busy(StudybotError):
    """The operation is already running; try again shortly (a second index build in the same folder)."""


class NoteInvalid(CorpusInvalid):
    """A server note failed validation; nothing was changed."""

    def __init__(self, problems: Sequence[Problem]):
        super().__init__(problems)
        shown = "\n".join(str(p) for p in self.problems[:15])
        self.args = (f"The note has problems, so nothing was changed:\n```\n{shown[:1500]}\n```",)

    def __str__(self) -> str:
        return self.args[0]
