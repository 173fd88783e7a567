"""Aligned power-of-two blocks of UTC days, and the fewest signed blocks whose sum is a range of days.

Every aggregate exists once per block it falls in: the day (level 0), the aligned 2 days (level 1), 4 days, … up to
`TOP_LEVEL` (32 days), counted from 1970-01-01. A range of days is then a signed sum of blocks: the days
2026-10-31..2026-11-30 are not 31 day items but e.g. [Oct 31] + [Nov 1..Nov 16] + [Nov 17..Dec 2] - [Dec 1..Dec 2],
and subtracting is exact because the counters are integers. `cover` finds such a sum with the fewest blocks (3 to
5 for 30 days; a year is ~11 blocks of 32 days and its two ends), so a summary reads a handful of items while each
call writes TOP_LEVEL + 1 of them per dimension. Blocks stop at 32 days because each level adds items to every
call's transaction (see `shared.analytics.aggregates`), and summaries longer than a month are rare.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

TOP_LEVEL = 5
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, order=True)
class Block:
    """The days [start, start + 2**level) as days since 1970-01-01; `start` is a multiple of 2**level."""

    level: int
    start: int

    @property
    def size(self) -> int:
        return 1 << self.level

    @property
    def key(self) -> str:
        """Its sort key in the table: level, then first day (ISO), so a level's blocks sort by time."""
        return f"L{self.level}#{day_iso(self.start)}"


def day_number(day: str) -> int:
    """Days since 1970-01-01 of an ISO day."""
    return (date.fromisoformat(day) - EPOCH).days


def day_iso(number: int) -> str:
    """The ISO day of a day number."""
    return (EPOCH + timedelta(days=number)).isoformat()


def blocks_of(day: str) -> list[Block]:
    """Every block a day belongs to, one per level."""
    n = day_number(day)
    return [Block(level, n >> level << level) for level in range(TOP_LEVEL + 1)]


def cover(from_day: str, to_day: str) -> dict[Block, int]:
    """Blocks and signs (+1/-1) whose signed sum is exactly the days `from_day`..`to_day` (inclusive), with as few
    blocks as the search finds (tries every top level, rounding both ends down and up)."""
    a, b = day_number(from_day), day_number(to_day) + 1
    if b <= a:
        raise ValueError(f"empty range of days: {from_day}..{to_day}")
    best: dict[Block, int] | None = None
    for top in range(TOP_LEVEL + 1):
        size = 1 << top
        for start in {a // size * size, -(-a // size) * size}:
            for end in {b // size * size, -(-b // size) * size}:
                signed: dict[Block, int] = {}
                _span(signed, start, end, top, +1)
                for block, sign in _end(a, start, top):  # [a, start)
                    signed[block] = signed.get(block, 0) + sign
                for block, sign in _end(b, end, top):  # [end, b) = -[b, end)
                    signed[block] = signed.get(block, 0) - sign
                signed = {k: v for k, v in signed.items() if v}
                if best is None or len(signed) < len(best):
                    best = signed
    assert best is not None
    return best


def _span(into: dict[Block, int], start: int, end: int, level: int, sign: int) -> None:
    """Add the level's blocks of [start, end) (or subtract those of [end, start)) to `into`."""
    size = 1 << level
    lo, hi, s = (start, end, sign) if start <= end else (end, start, -sign)
    for first in range(lo, hi, size):
        block = Block(level, first)
        into[block] = into.get(block, 0) + s


@lru_cache(maxsize=4096)
def _end(x: int, aligned: int, level: int) -> tuple[tuple[Block, int], ...]:
    """Signed blocks of levels below `level` summing to [x, aligned) (negative when aligned < x); `aligned` is a
    multiple of 2**level. Each level rounds x down or up, whichever needs fewer blocks in total."""
    if x == aligned:
        return ()
    if level == 0:
        raise AssertionError("a level-0 boundary is any day")
    below = level - 1
    size = 1 << below
    options = []
    for mid in {x // size * size, -(-x // size) * size}:
        signed: dict[Block, int] = {}
        _span(signed, mid, aligned, below, +1)
        for block, sign in _end(x, mid, below):
            signed[block] = signed.get(block, 0) + sign
        options.append(tuple(sorted((k, v) for k, v in signed.items() if v)))
    return min(options, key=len)
