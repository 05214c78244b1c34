"""Reading "when" in the user's timezone: deterministic given `now`, DST-correct, friendly refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.errors import InvalidInput
from bot.study.when import canonical_zone, parse_when, zone_choices

PARIS = ZoneInfo("Europe/Paris")
# Monday 2 March 2026, 12:00 UTC = 13:00 in Paris (CET, UTC+1).
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("text, expected", [
    ("2026-12-01 18:00", utc(2026, 12, 1, 17, 0)),             # naive ISO: Paris wall time (CET)
    ("2026-07-01 18:00", utc(2026, 7, 1, 16, 0)),              # summer: CEST, UTC+2
    ("2026-12-01T18:00+01:00", utc(2026, 12, 1, 17, 0)),       # explicit offset wins
    ("2026-12-01T18:00Z", utc(2026, 12, 1, 18, 0)),
    ("in 2h", NOW + timedelta(hours=2)),
    ("in 90 minutes", NOW + timedelta(minutes=90)),
    ("in 1h30", NOW + timedelta(minutes=90)),
    ("in 1 hour and 15 mins", NOW + timedelta(minutes=75)),
    ("in an hour", NOW + timedelta(hours=1)),
    ("in 2 days", NOW + timedelta(days=2)),
    ("In 1 week.", NOW + timedelta(days=7)),
    ("tomorrow 18:00", utc(2026, 3, 3, 17, 0)),
    ("tomorrow at 6pm", utc(2026, 3, 3, 17, 0)),
    ("18:00 tomorrow", utc(2026, 3, 3, 17, 0)),
    ("today 9pm", utc(2026, 3, 2, 20, 0)),
    ("tonight 21h", utc(2026, 3, 2, 20, 0)),
    ("friday 17:30", utc(2026, 3, 6, 16, 30)),
    ("Fri 5:30 pm", utc(2026, 3, 6, 16, 30)),
    ("monday 14:00", utc(2026, 3, 2, 13, 0)),                  # today (a Monday) is still ahead of 14:00
    ("monday 9am", utc(2026, 3, 9, 8, 0)),                     # today's 9am has passed: next Monday
    ("next monday 14:00", utc(2026, 3, 9, 13, 0)),
    ("18:00", utc(2026, 3, 2, 17, 0)),                         # a bare time: its next occurrence
    ("9:15", utc(2026, 3, 3, 8, 15)),
    ("noon tomorrow", utc(2026, 3, 3, 11, 0)),
    ("1 dec 18:00", utc(2026, 12, 1, 17, 0)),                  # dateparser for written dates
    ("December 1 at 6pm", utc(2026, 12, 1, 17, 0)),
])
def test_parses_in_the_users_zone(text, expected):
    assert parse_when(text, PARIS, NOW) == expected
    assert parse_when(text, "Europe/Paris", NOW).tzinfo == UTC


def test_same_words_mean_different_moments_in_different_zones():
    tokyo = parse_when("tomorrow 18:00", "Asia/Tokyo", NOW)
    la = parse_when("tomorrow 18:00", "America/Los_Angeles", NOW)
    assert tokyo == utc(2026, 3, 3, 9, 0)   # Tokyo is already on Tuesday 3 March at 21:00
    assert la == utc(2026, 3, 4, 2, 0)      # LA: 3 March 18:00 PST
    assert parse_when("tomorrow 18:00", None, NOW) == utc(2026, 3, 3, 18, 0)  # unset: UTC


def test_deterministic_given_now():
    assert parse_when("friday 17:30", PARIS, NOW) == parse_when("friday 17:30", PARIS, NOW)
    assert parse_when("friday 17:30", PARIS, NOW + timedelta(days=7)) == utc(2026, 3, 13, 16, 30)


class TestDaylightSaving:
    # Europe: clocks go forward on Sunday 29 March 2026 at 02:00 (CET -> CEST).
    before = datetime(2026, 3, 28, 17, 0, tzinfo=UTC)  # Saturday 18:00 in Paris

    def test_days_keep_the_wall_clock_across_the_change(self):
        assert parse_when("in 2 days", PARIS, self.before) == utc(2026, 3, 30, 16, 0)  # 18:00 CEST, not 19:00
        assert parse_when("in 48 hours", PARIS, self.before) == self.before + timedelta(hours=48)

    def test_tomorrow_uses_the_new_offset(self):
        assert parse_when("tomorrow 18:00", PARIS, self.before) == utc(2026, 3, 29, 16, 0)
        assert parse_when("tomorrow 01:30", PARIS, self.before) == utc(2026, 3, 29, 0, 30)  # still CET

    def test_a_skipped_wall_time_is_refused_with_an_explanation(self):
        with pytest.raises(InvalidInput, match="clocks go forward"):
            parse_when("2026-03-29 02:30", PARIS, self.before)

    def test_a_repeated_wall_time_means_the_first_one(self):
        # 25 October 2026: 02:30 happens twice in Paris; the first is CEST (UTC+2).
        assert parse_when("2026-10-25 02:30", PARIS, self.before) == utc(2026, 10, 25, 0, 30)

    def test_new_york_falls_back_in_november(self):
        now = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # Saturday noon EDT
        assert parse_when("tomorrow 9am", "America/New_York", now) == utc(2026, 11, 1, 14, 0)  # EST, UTC-5
        assert parse_when("in 1 day", "America/New_York", now) == utc(2026, 11, 1, 17, 0)     # noon EST


@pytest.mark.parametrize("text, message", [
    ("2020-01-01 10:00", "in the past"),
    ("today 9am", "in the past"),
    ("in 400 days", "more than a year"),
    ("2028-01-01 10:00", "more than a year"),
    ("blah blah", "couldn't read"),
    ("", "Tell me when"),
    ("tomorrow", "Add a time"),
    ("friday", "Add a time"),
    ("2026-12-01", "Add a time"),
    ("1 dec", "Add a time"),
    ("2026-13-01 10:00", "not a valid date"),
    ("tomorrow at 6", "morning or the evening"),
    ("tomorrow 25:00", "not a valid time"),
    ("tomorrow 13pm", "1 to 12"),
    ("x" * 200, "too long"),
])
def test_refusals_are_friendly_and_show_an_example(text, message):
    with pytest.raises(InvalidInput, match=message) as info:
        parse_when(text, PARIS, NOW)
    assert "e.g." in str(info.value)


def test_timezones_are_validated_and_canonicalised():
    assert canonical_zone("europe/paris") == "Europe/Paris"
    assert canonical_zone(" America/New York ") == "America/New_York"
    with pytest.raises(InvalidInput, match="Europe/Paris"):
        canonical_zone("Mars/Olympus")
    assert "Europe/Paris" in zone_choices("paris")
    assert len(zone_choices("")) == 25


@pytest.mark.parametrize("text", ["yesterday at 25:99", "yesterday 24:00", "tomorrow 7:61pm", "dec 1 25:99",
                                  "friday at 99:99"])
def test_an_impossible_clock_time_is_not_understood_whatever_the_day(text):
    with pytest.raises(InvalidInput, match="I don't understand") as info:
        parse_when(text, PARIS, NOW)
    assert "in the past" not in str(info.value)


def test_a_past_day_with_a_real_time_is_still_in_the_past():
    with pytest.raises(InvalidInput, match="in the past"):
        parse_when("yesterday at 10:00", PARIS, NOW)


@pytest.mark.parametrize("text", ["in 5 seconds", "in 30 secs", "now", "in 0 minutes"])
def test_seconds_are_understood_and_too_soon_says_so(text):
    with pytest.raises(InvalidInput, match="too soon") as info:
        parse_when(text, PARIS, NOW)
    assert f"{text} 18:00" not in str(info.value) and "e.g." in str(info.value)


def test_seconds_count_in_durations():
    assert parse_when("in 90 seconds", PARIS, NOW) == NOW + timedelta(seconds=90)
    assert parse_when("in 1 minute 30 s", PARIS, NOW) == NOW + timedelta(seconds=90)


@pytest.mark.parametrize("text, suggestion", [("tomorrow", "'tomorrow 18:00'"), ("next week", "'next week 18:00'")])
def test_a_missing_time_is_suggested_only_when_the_suggestion_reads(text, suggestion):
    with pytest.raises(InvalidInput, match="Add a time") as info:
        parse_when(text, PARIS, NOW)
    assert suggestion in str(info.value)
