"""All patterns of a source matched in one pass over a block of complete lines.

The hot path stays in bytes: a multi-pattern engine finds *candidate* lines
(hyperscan scans the whole block in one call; re2's ``Set`` tests one line at a
time; plain ``re`` is the fallback), and only those lines are decoded and
re-matched with Python's ``re`` to confirm the hit and read the captures. The
engines are prefilters, so their small syntax differences can cost a
re-match, never a wrong count: ``re`` has the last word on every line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._args import ENGINE_NAMES

__all__ = ["ENGINES", "CompiledPattern", "Hit", "Matcher"]

log = logging.getLogger(__name__)

#: Engines in order of preference; ``auto`` takes the first that compiles every pattern.
ENGINES: tuple[str, ...] = ENGINE_NAMES
_RE2_MAX_MEM = 256 << 20  # re2.Set silently returns "no match" when its DFA runs out of memory
_RE2_SET_SIZE = 64


# Syntax whose meaning can reach past a newline, or differs between engines: such patterns are
# always confirmed with ``re`` on the line, even when they capture nothing.
_LINE_UNSAFE = re.compile(r"\\[sSWDnrvfxaeAZzGpPNcuU0-9]|\[\^|\(\?[a-zA-Z]*[sx]")


@dataclass(frozen=True, slots=True)
class CompiledPattern:
    """One configured pattern, ready for the confirm/capture step."""

    index: int
    regex: re.Pattern[str]
    value_group: str | None
    label_names: tuple[str, ...]

    @property
    def needs_confirmation(self) -> bool:
        """Captures are needed, or the engine's verdict on a block might differ from re's on a line."""
        return bool(self.value_group or self.label_names or _LINE_UNSAFE.search(self.regex.pattern))


#: ``(pattern index, line start, line end, match)``: the line is ``block[start:end]`` (no newline); the
#: match is None for patterns that capture nothing and whose engine verdict is exact (no re-match needed).
Hit = tuple[int, int, int, "re.Match[str] | None"]


class Matcher:
    """Finds which lines of a block match which patterns; ``engine`` is ``auto`` or one of :data:`ENGINES`."""

    def __init__(self, patterns: Sequence[CompiledPattern], engine: str = "auto") -> None:
        self.patterns = list(patterns)
        self._confirm = [p.needs_confirmation for p in self.patterns]
        self.engine = "none"
        self._candidates: Callable[[bytes], list[tuple[int, int, int]]] = _no_candidates
        if not self.patterns:
            return
        for name in ENGINES if engine == "auto" else (engine,):
            prefiltered: set[int] = set()
            try:
                self._candidates = _BUILDERS[name](self.patterns, prefiltered)
            except Exception as err:  # an engine missing or rejecting a pattern: try the next one
                if engine != "auto":
                    raise
                log.debug("logwatch: engine %s unavailable: %s", name, err)
                continue
            self.engine = name
            for index in prefiltered:
                self._confirm[index] = True
            return

    def scan(self, block: bytes) -> list[Hit]:
        """Hits in ``block`` (complete lines, each ending with a newline), at most one per
        (line, pattern), in line order."""
        hits: list[Hit] = []
        append = hits.append
        confirm = self._confirm
        patterns = self.patterns
        if self.engine == "re":
            return self._plain_hits(block)
        last_start, text = -1, ""
        for index, start, end in self._candidates(block):
            if not confirm[index]:
                append((index, start, end, None))
                continue
            if start != last_start:
                last_start, text = start, block[start:end].decode("utf-8", "replace")
            match = patterns[index].regex.search(text)
            if match is not None:
                append((index, start, end, match))
        return hits

    def _plain_hits(self, block: bytes) -> list[Hit]:
        """The fallback: every pattern's ``re`` on every decoded line (the match is the answer)."""
        hits: list[Hit] = []
        searches = [p.regex.search for p in self.patterns]
        start = 0
        for line in block.split(b"\n")[:-1]:
            end = start + len(line)
            text = line.decode("utf-8", "replace")
            for index, search in enumerate(searches):
                match = search(text)
                if match is not None:
                    hits.append((index, start, end, match))
            start = end + 1
        return hits


def _no_candidates(block: bytes) -> list[tuple[int, int, int]]:
    return []


def _hyperscan(
    patterns: Sequence[CompiledPattern], prefiltered: set[int]
) -> Callable[[bytes], list[tuple[int, int, int]]]:
    import hyperscan

    base = hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_UCP | hyperscan.HS_FLAG_MULTILINE
    flags = [base | (hyperscan.HS_FLAG_CASELESS if p.regex.flags & re.IGNORECASE else 0) for p in patterns]

    def compiled(flag_list: list[int], some: Sequence[CompiledPattern]) -> Any:
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(
            expressions=[p.regex.pattern.encode() for p in some],
            ids=list(range(len(some))),
            elements=len(some),
            flags=flag_list,
        )
        return db

    try:
        db = compiled(flags, patterns)
    except hyperscan.error:
        # Lookarounds and back-references: hyperscan's prefilter mode matches a superset, and those
        # patterns are always confirmed by re. Which ones need it is found one pattern at a time.
        for i, pattern in enumerate(patterns):
            try:
                compiled([flags[i]], [pattern])
            except hyperscan.error:
                flags[i] |= hyperscan.HS_FLAG_PREFILTER
                prefiltered.add(i)
        db = compiled(flags, patterns)

    def candidates(block: bytes) -> list[tuple[int, int, int]]:
        ends: list[int] = []
        append = ends.append

        def on_match(index: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            append(to << 16 | index)  # one int per match: cheaper than a tuple in this hot callback

        db.scan(block, match_event_handler=on_match)
        if not ends:
            return []
        ends.sort()
        out: list[tuple[int, int, int]] = []
        rfind, find = block.rfind, block.find
        line_start, line_end = -1, -1
        seen: set[int] = set()
        for key in ends:
            to, index = key >> 16, key & 0xFFFF
            last = to - 1 if to else 0  # the match's last byte; a newline there belongs to the line it ends
            if last > line_end or last < line_start:
                line_start = rfind(b"\n", 0, last) + 1
                line_end = find(b"\n", last)
                seen = set()
            if index not in seen:
                seen.add(index)
                out.append((index, line_start, line_end))
        return out

    return candidates


def _re2(
    patterns: Sequence[CompiledPattern], prefiltered: set[int]
) -> Callable[[bytes], list[tuple[int, int, int]]]:
    import re2

    options = re2.Options()
    options.max_mem = _RE2_MAX_MEM
    sets = []  # bounded sets: a big one can exhaust its DFA memory and then silently match nothing
    for first in range(0, len(patterns), _RE2_SET_SIZE):
        rset = re2.Set.SearchSet(options)
        for pattern in patterns[first : first + _RE2_SET_SIZE]:
            source = pattern.regex.pattern
            if pattern.regex.flags & re.IGNORECASE:
                source = "(?i)" + source
            if rset.Add(source.encode()) < 0:
                raise ValueError(f"re2 rejects {source!r}")
        rset.Compile()  # raises if the set cannot be built
        sets.append((first, rset.Match))

    def match(line: bytes) -> list[int]:
        if len(sets) == 1:
            return sorted(sets[0][1](line) or ())
        return [first + i for first, set_match in sets for i in sorted(set_match(line) or ())]

    def candidates(block: bytes) -> list[tuple[int, int, int]]:
        out: list[tuple[int, int, int]] = []
        start = 0
        for line in block.split(b"\n")[:-1]:
            end = start + len(line)
            found = match(line)
            if found:
                out.extend((index, start, end) for index in found)
            start = end + 1
        return out

    return candidates


def _plain_re(
    patterns: Sequence[CompiledPattern], prefiltered: set[int]
) -> Callable[[bytes], list[tuple[int, int, int]]]:
    return _no_candidates  # Matcher.scan matches line by line itself: nothing to prefilter


#: engine → builder(patterns, prefiltered) → candidates(block); a builder adds to ``prefiltered`` the
#: indices of patterns it can only approximate (always confirmed by ``re``).
_BUILDERS: dict[
    str, Callable[[Sequence[CompiledPattern], set[int]], Callable[[bytes], list[tuple[int, int, int]]]]
] = {
    "hyperscan": _hyperscan,
    "re2": _re2,
    "re": _plain_re,
}
