"""Read "when" a learner means, in their own timezone, and return an aware UTC datetime.

Understood, in order: ISO times ("2026-12-01 18:00", "2026-12-01T18:00+01:00"); durations ("in 2h",
"in 90 minutes", "in 1h30", "in 2 days", "in 90 seconds"); a day word with a time ("tomorrow 18:00", "today 9pm",
"friday 17:30", "next mon at 8am", "18:00 tomorrow"); a bare time ("18:00": its next occurrence); and,
last, dateparser for written dates ("1 dec 18:00", "December 1 at 6pm"). Everything is relative to the
`now` argument, so results are deterministic.

Time zones: wall times are read in the user's IANA zone with zoneinfo. "in N days/weeks" keeps the wall
clock (18:00 stays 18:00 across a DST change); hours and minutes are exact durations. A wall time that does
not exist (skipped when clocks go forward) is refused with an explanation; an ambiguous one (repeated when
clocks go back) means its first occurrence.

Refusals say what went wrong, in this order: a clock time that cannot exist ("25:99") is "a time I don't
understand", whatever the words around it (so "yesterday at 25:99" is not called "in the past"); then a
moment before `now` is "in the past"; one less than a minute ahead is "too soon". A phrase without a time of
day gets a suggestion only when that suggestion itself reads as a time.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import dateparser

from bot.errors import InvalidInput

MAX_AHEAD = timedelta(days=365)
MIN_AHEAD = timedelta(minutes=1)
MAX_TEXT = 100
EXAMPLES = "'tomorrow 18:00', 'friday 17:30', 'in 2h' or '2026-12-01 18:00'"
DEFAULT_ZONE = "UTC"

_WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "weds": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4, "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}
_DAY_WORDS = {"today": 0, "tonight": 0, "tomorrow": 1, "tmr": 1, "tmrw": 1}
_DAY_NAMES = "|".join(sorted([*_WEEKDAYS, *_DAY_WORDS], key=len, reverse=True))
_DAY = rf"(?:(?P<next>next|this|on)\s+)?(?P<day>{_DAY_NAMES})"
_TIME = r"(?P<time>noon|midnight|(?P<hour>\d{1,2})(?:(?:[:.]|h)(?P<minute>\d{2})|(?P<h>h))?\s*(?P<ampm>[ap]\.?m\.?)?)"
_DAY_TIME = re.compile(rf"^{_DAY}(?:\s+(?:at\s+)?{_TIME})?$")
_TIME_DAY = re.compile(rf"^(?:at\s+)?{_TIME}\s+{_DAY}$")
_TIME_ONLY = re.compile(rf"^(?:at\s+)?{_TIME}$")
_DURATION_PART = re.compile(
    r"(?P<n>\d+(?:\.\d+)?|an?|half an?)\s*"
    r"(?P<unit>minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w|seconds?|secs?|s)\b")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks", "s": "seconds"}
# A time of day, or a relative phrase measured in hours, minutes or seconds ("5 minutes ago", "now").
_HAS_TIME = re.compile(r"\d[:.]\d{2}|\d\s*[ap]\.?m\b|\bnoon\b|\bmidnight\b|\d+h\b"
                       r"|\b(hours?|hrs?|minutes?|mins?|seconds?|secs?|now)\b")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# A clock time written with a colon or an "h" ("25:99", "7h61"), to check before anything else reads it.
_CLOCK = re.compile(r"(?<![\d:])(?P<hour>\d{1,2})(?::|h)(?P<minute>\d{2})(?![\d:])\s*(?P<ampm>[ap]\.?m\b\.?)?")


def resolve_zone(name: str | None) -> ZoneInfo:
    """The ZoneInfo for a stored zone name (UTC when unset)."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"Unknown timezone '{name}'. Use a name such as 'Europe/Paris', "
                           "'America/New_York' or 'Asia/Kolkata'.") from exc


def canonical_zone(name: str) -> str:
    """Validate a timezone typed by a user, matching case-insensitively; returns the IANA spelling."""
    cleaned = name.strip().replace(" ", "_")
    if not cleaned:
        raise InvalidInput("Give a timezone such as 'Europe/Paris' or 'America/New_York'.")
    by_lower = {z.lower(): z for z in available_timezones()}
    match = by_lower.get(cleaned.lower())
    if match is None:
        raise InvalidInput(f"Unknown timezone '{name.strip()[:60]}'. Use a name such as 'Europe/Paris', "
                           "'America/New_York' or 'Asia/Kolkata' (the city nearest to you).")
    return match


def zone_choices(prefix: str, limit: int = 25) -> list[str]:
    """Timezone names containing `prefix`, for autocomplete (prefix matches first)."""
    p = prefix.strip().lower().replace(" ", "_")
    zones = sorted(z for z in available_timezones() if "/" in z or z == "UTC")
    starts = [z for z in zones if z.lower().startswith(p) or z.lower().split("/")[-1].startswith(p)]
    contains = [z for z in zones if p in z.lower() and z not in starts]
    return (starts + contains)[:limit]


def local_day(moment: datetime, zone: ZoneInfo) -> str:
    """The calendar day (YYYY-MM-DD) of a moment in a zone."""
    return moment.astimezone(zone).date().isoformat()


def parse_when(text: str, zone: ZoneInfo | str | None, now: datetime) -> datetime:
    """A future moment (aware, UTC) within a year from `now`, read from `text` in the user's zone."""
    if now.tzinfo is None:
        raise ValueError("now must be aware")
    tz = zone if isinstance(zone, ZoneInfo) else resolve_zone(zone)
    raw = " ".join(text.strip().split())
    if not raw:
        raise InvalidInput(f"Tell me when, e.g. {EXAMPLES}.")
    if len(raw) > MAX_TEXT:
        raise InvalidInput(f"That time is too long to read. Try e.g. {EXAMPLES}.")
    cleaned = raw.lower().rstrip(".!")
    # ISO is checked by fromisoformat, and "in 1h30" is a duration, not a clock time.
    typed = None if _ISO_DATE.match(raw) or cleaned.startswith("in ") else _typed_clock(cleaned)
    result = (_iso(raw, tz) or _duration(cleaned, tz, now) or _day_and_time(cleaned, tz, now)
              or _dateparser(cleaned, tz, now))
    if result is None:
        raise InvalidInput(f"I couldn't read '{raw}' as a time. Try e.g. {EXAMPLES}.")
    if typed is not None and result.astimezone(tz).time().replace(second=0, microsecond=0) != typed:
        # The parser read the words but not the clock time typed with them: never guess a different time.
        raise InvalidInput(f"I don't understand that time: '{raw}'. Try e.g. {EXAMPLES}.")
    result = result.astimezone(UTC)
    if result < now:
        shown = result.astimezone(tz)
        raise InvalidInput(f"'{raw}' is in the past ({shown:%a %d %b %Y %H:%M} {tz.key} time). "
                           f"Give a future time, e.g. {EXAMPLES}.")
    if result - now < MIN_AHEAD:
        raise InvalidInput(f"'{raw}' is too soon: give a time at least a minute from now, e.g. 'in 10 minutes' "
                           "or 'in 2h'.")
    if result - now > MAX_AHEAD:
        raise InvalidInput(f"'{raw}' is more than a year away. Pick a time within the next 12 months, "
                           f"e.g. {EXAMPLES}.")
    return result


def localize(wall: datetime, tz: ZoneInfo) -> datetime:
    """A naive wall time in `tz` as an aware datetime; refuses times the clocks skip over."""
    aware = wall.replace(tzinfo=tz, fold=0)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
        later = (wall + timedelta(hours=1)).strftime("%H:%M")
        raise InvalidInput(f"{wall:%H:%M} does not exist on {wall:%a %d %b %Y} in {tz.key}: the clocks "
                           f"go forward then. Pick another time, e.g. {later}.")
    return aware


def _typed_clock(cleaned: str) -> time | None:
    """The clock time typed as H:MM (or HhMM), if any; "I don't understand" when no clock shows it."""
    m = _CLOCK.search(cleaned)
    if m is None:
        return None
    hour, minute = int(m["hour"]), int(m["minute"])
    if m["ampm"]:
        if not 1 <= hour <= 12 or minute > 59:
            raise InvalidInput(f"I don't understand the time '{m.group(0).strip()}': with am/pm the hour is 1 to "
                               f"12 and the minutes 0 to 59. Try e.g. {EXAMPLES}.")
        hour = hour % 12 + (12 if m["ampm"].startswith("p") else 0)
    if hour > 23 or minute > 59:
        raise InvalidInput(f"I don't understand the time '{m.group(0).strip()}': it is not a valid time of day "
                           f"(hours 0 to 23, minutes 0 to 59). Try e.g. {EXAMPLES}.")
    return time(hour, minute)


def _iso(raw: str, tz: ZoneInfo) -> datetime | None:
    if not _ISO_DATE.match(raw):
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"'{raw}' is not a valid date and time; write it as e.g. '2026-12-01 18:00'.") from None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise InvalidInput(f"Add a time to the date, e.g. '{raw} 18:00'.")
    return parsed if parsed.tzinfo else localize(parsed, tz)


def _duration(cleaned: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    if not cleaned.startswith("in "):
        return None
    rest = re.sub(r"(\d+)h(\d{2})\b", r"\1h \2m", cleaned[3:]).replace(" and ", " ").replace(",", " ")
    amounts = {"seconds": 0.0, "minutes": 0.0, "hours": 0.0, "days": 0.0, "weeks": 0.0}
    pos = 0
    for m in _DURATION_PART.finditer(rest):
        if rest[pos:m.start()].strip():
            return None
        n = m["n"]
        value = 0.5 if n.startswith("half") else 1.0 if n in ("a", "an") else float(n)
        amounts[_UNITS[m["unit"][0]]] += value
        pos = m.end()
    if pos == 0 or rest[pos:].strip():
        return None
    days = amounts["days"] + 7 * amounts["weeks"]
    whole_days = int(days)
    # Whole days keep the wall clock (DST-correct); fractions, hours and minutes are exact durations.
    start = now.astimezone(tz)
    wall = start.replace(tzinfo=None) + timedelta(days=whole_days)
    moved = wall.replace(tzinfo=tz, fold=start.fold).astimezone(UTC)
    return moved + timedelta(days=days - whole_days, hours=amounts["hours"], minutes=amounts["minutes"],
                             seconds=amounts["seconds"])


def _clock(m: re.Match) -> time:
    if m["time"] == "noon":
        return time(12, 0)
    if m["time"] == "midnight":
        return time(0, 0)
    hour, minute = int(m["hour"]), int(m["minute"] or 0)
    if m["ampm"]:
        if not 1 <= hour <= 12:
            raise InvalidInput(f"'{m['time']}' is not a time: with am/pm the hour is 1 to 12, e.g. '6pm'.")
        hour = hour % 12 + (12 if m["ampm"].startswith("p") else 0)
    elif m["minute"] is None and m["h"] is None:
        raise InvalidInput(f"Is '{m['time']}' in the morning or the evening? Write e.g. '{m['time']}:00' "
                           f"(24-hour), '{m['time']}am' or '{m['time']}pm'.")
    if hour > 23 or minute > 59:
        raise InvalidInput(f"I don't understand the time '{m['time']}': it is not a valid time of day; use e.g. "
                           "'18:00' or '6pm'.")
    return time(hour, minute)


def _day_and_time(cleaned: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    today = now.astimezone(tz).date()
    m = _DAY_TIME.match(cleaned) or _TIME_DAY.match(cleaned)
    if m is None:
        m = _TIME_ONLY.match(cleaned)
        if m is None or (m["minute"] is None and m["ampm"] is None and m["h"] is None and m["hour"]):
            return None
        at = _clock(m)
        first = localize(datetime.combine(today, at), tz)
        return first if first > now else localize(datetime.combine(today + timedelta(days=1), at), tz)
    if m["time"] is None:
        raise InvalidInput(f"Add a time to '{cleaned}', e.g. '{cleaned} 18:00' or '{cleaned} 6pm'.")
    at = _clock(m)
    word = m["day"]
    if word in _DAY_WORDS:
        day = today + timedelta(days=_DAY_WORDS[word])
    else:
        ahead = (_WEEKDAYS[word] - today.weekday()) % 7
        if m["next"] == "next" and ahead == 0:
            ahead = 7
        day = today + timedelta(days=ahead)
        if ahead == 0 and localize(datetime.combine(day, at), tz) <= now:
            day += timedelta(days=7)  # "friday 17:30" said on a Friday evening means next week
    return localize(datetime.combine(day, at), tz)


def _dateparser(cleaned: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    base = now.astimezone(tz).replace(tzinfo=None)
    parsed = dateparser.parse(cleaned, languages=["en"], settings={
        "RELATIVE_BASE": base, "PREFER_DATES_FROM": "future", "DATE_ORDER": "DMY",
        "PARSERS": ["relative-time", "absolute-time", "custom-formats"],
    })
    if parsed is None:
        return None
    if not _HAS_TIME.search(cleaned):
        raise InvalidInput(_add_a_time(cleaned, base))
    return parsed.astimezone(UTC) if parsed.tzinfo else localize(parsed, tz)


def _add_a_time(cleaned: str, base: datetime) -> str:
    """Ask for a time of day; suggest "<what was typed> 18:00" only when that reads as 18:00 itself."""
    example = f"{cleaned} 18:00"
    parsed = dateparser.parse(example, languages=["en"], settings={
        "RELATIVE_BASE": base, "PREFER_DATES_FROM": "future", "DATE_ORDER": "DMY",
        "PARSERS": ["relative-time", "absolute-time", "custom-formats"]})
    if parsed is not None and (parsed.hour, parsed.minute) == (18, 0):
        return f"Add a time to '{cleaned}', e.g. '{example}'."
    return f"Add a time of day to '{cleaned}', e.g. {EXAMPLES}."


def format_local(moment: datetime, zone: ZoneInfo) -> str:
    """A moment as the user's wall time, e.g. 'Fri 04 Dec 2026 18:00 (Europe/Paris)'."""
    return f"{moment.astimezone(zone):%a %d %b %Y %H:%M} ({zone.key})"


def today_in(zone: ZoneInfo, now: datetime) -> date:
    """The user's calendar date at `now`."""
    return now.astimezone(zone).date()


def now_or_utc(now: datetime | None) -> datetime:
    """The given moment, or the current UTC time (services take `now` so tests can set the clock)."""
    return now or datetime.now(UTC)
