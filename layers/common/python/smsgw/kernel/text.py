"""SMS text encoding: GSM-7 when every character is in the GSM 03.38 alphabet, else UCS-2.

Segment sizes: GSM-7 160 septets alone or 153 per part when concatenated (the user data
header takes 7); UCS-2 70 UTF-16 code units alone or 67 per part. An extension character
(e.g. `€`, `{`) is an escape plus a septet and is never split across parts; neither is a
UTF-16 surrogate pair (an emoji).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = "\f^{}\\[~]|€"
_GSM_BASIC_SET = frozenset(_GSM_BASIC) - {"\x1b"}
_GSM_EXTENSION_SET = frozenset(_GSM_EXTENSION)


@dataclass(frozen=True, slots=True)
class TextInfo:
    encoding: str
    segments: int
    units: int
    """Septets (GSM-7) or UTF-16 code units (UCS-2) the text takes."""


def _unit_lengths(text: str) -> tuple[str, list[int]]:
    if all(c in _GSM_BASIC_SET or c in _GSM_EXTENSION_SET for c in text):
        return GSM7, [2 if c in _GSM_EXTENSION_SET else 1 for c in text]
    return UCS2, [2 if ord(c) > 0xFFFF else 1 for c in text]


def _count_parts(lengths: list[int], per_part: int) -> int:
    parts, used = 1, 0
    for length in lengths:
        if used + length > per_part:
            parts, used = parts + 1, 0
        used += length
    return parts


def analyse(text: str) -> TextInfo:
    """The encoding a text needs and how many SMS segments it takes."""
    encoding, lengths = _unit_lengths(text)
    units = sum(lengths)
    single, multi = (160, 153) if encoding == GSM7 else (70, 67)
    segments = 1 if units <= single else _count_parts(lengths, multi)
    return TextInfo(encoding=encoding, segments=segments, units=units)


# Bidirectional formatting characters: embeddings and overrides (U+202A-U+202E), isolates
# (U+2066-U+2069) and the marks LRM, RLM and ALM. In a forwarded text they could make the
# forward's own lines (or a number) read backwards.
_BIDI_FORMATTING = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u200e", "\u200f", "\u061c"]
)


def printable_text(text: str) -> str:
    """`text` without control characters (Unicode category Cc) and bidirectional formatting
    characters, for showing someone else's text (a forwarded reply). Line breaks are kept
    as a line feed (CR LF and a lone CR become one); a tab becomes a space."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return "".join(
        c
        for c in text
        if c == "\n" or (c not in _BIDI_FORMATTING and unicodedata.category(c) != "Cc")
    )


def fit_text(text: str, max_characters: int, marker: str) -> str:
    """`text` if it has at most `max_characters` characters; otherwise its start, cut so
    that with `marker` appended it has exactly `max_characters`."""
    if len(text) <= max_characters:
        return text
    return text[: max_characters - len(marker)] + marker
