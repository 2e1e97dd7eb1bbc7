"""Guess how a text file is laid out (encoding, delimiter, header) from its first lines.

Used by the loader (a whitespace-aligned file without a mapping; an error that suggests the
delimiter that would split a header) and by `insights inspect`. Only the first
``SAMPLE_BYTES`` are read, so a guess costs milliseconds on any file size.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ingest.mapping import WHITESPACE

SAMPLE_BYTES = 64 * 1024
SAMPLE_LINES = 50
# In order of preference when two candidates split the lines equally well.
DELIMITER_CANDIDATES = (",", ";", "\t", "||", "|", WHITESPACE)
_WHITESPACE_RUN = re.compile(r"[ \t]+")
_NUMBER_OR_DATE = re.compile(r"^[\s\"'$€£]*[-+]?[\d.,/: -]+[\s\"']*(?:[A-Za-z]{3})?$")


@dataclass(frozen=True)
class Layout:
    encoding: str
    delimiter: str | None  # None: no candidate splits the lines consistently
    fields: int
    header: bool
    first_lines: tuple[str, ...]

    def split(self, line: str) -> list[str]:
        return split_line(line, self.delimiter) if self.delimiter else [line]


def detect_encoding(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head[:200].count(b"\x00") > 10:  # UTF-16 without a byte-order mark
        return "utf-16"
    try:
        # A sample may end inside a multi-byte character: cut at the last newline.
        head[: head.rfind(b"\n") + 1 or len(head)].decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "latin-1"


def read_head(path: Path, encoding: str | None = None) -> tuple[str, list[str]]:
    """(encoding, the first non-blank lines) of a text file."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    encoding = encoding or detect_encoding(head)
    codec = {"utf-16": "utf-16", "utf-8": "utf-8-sig"}.get(encoding, encoding)
    text = head.decode(codec, errors="replace")
    if len(head) == SAMPLE_BYTES:
        text = text[: text.rfind("\n") + 1] or text
    lines = [line for line in text.splitlines() if line.strip()]
    return encoding, lines[:SAMPLE_LINES]


def split_line(line: str, delimiter: str) -> list[str]:
    if delimiter == WHITESPACE:
        return _WHITESPACE_RUN.split(line.strip(" \t"))
    if len(delimiter) == 1:
        return next(csv.reader(io.StringIO(line), delimiter=delimiter), [])
    return line.split(delimiter)


def sniff_delimiter(lines: list[str]) -> tuple[str | None, int]:
    """The delimiter that splits every sample line (header included) into the same number of
    fields, more than one; whitespace only when no character delimiter does."""
    if not lines:
        return None, 0
    consistent: list[tuple[str, int]] = []
    for candidate in DELIMITER_CANDIDATES:
        counts = [len(split_line(line, candidate)) for line in lines]
        fields, seen = Counter(counts).most_common(1)[0]
        if fields > 1 and counts[0] == fields and seen >= 0.8 * len(counts):
            consistent.append((candidate, fields))
    if any(d == "||" for d, _ in consistent):
        consistent = [(d, n) for d, n in consistent if d != "|"]
    characters = [(d, n) for d, n in consistent if d != WHITESPACE]
    if characters:
        best = max(n for _, n in characters)
        return next((d, n) for d, n in characters if n == best)
    return consistent[0] if consistent else (None, 0)


def looks_like_header(first: list[str], second: list[str] | None) -> bool:
    """A header's fields are names: none of them looks like a number or date, while the next
    line has at least one that does."""
    if any(_NUMBER_OR_DATE.match(f.strip()) for f in first if f.strip()):
        return False
    if second is None:
        return True
    return any(_NUMBER_OR_DATE.match(f.strip()) for f in second if f.strip())


def sniff_layout(path: Path, encoding: str | None = None) -> Layout:
    encoding, lines = read_head(path, encoding)
    delimiter, fields = sniff_delimiter(lines)
    header = bool(lines) and looks_like_header(
        split_line(lines[0], delimiter) if delimiter else [lines[0]],
        (split_line(lines[1], delimiter) if delimiter else [lines[1]]) if len(lines) > 1 else None,
    )
    return Layout(encoding, delimiter, fields, header, tuple(lines[:6]))


def describe_delimiter(delimiter: str) -> str:
    """How to write the delimiter in mapping.yaml."""
    return {"\t": '"\\t"', WHITESPACE: WHITESPACE}.get(delimiter, f'"{delimiter}"')
