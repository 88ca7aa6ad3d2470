"""SMS text encoding: GSM-7 when every character is in the GSM 03.38 alphabet, else UCS-2.

Segment sizes: GSM-7 160 septets alone or 153 per part when concatenated (the user data
header takes 7); UCS-2 70 UTF-16 code units alone or 67 per part. An extension character
(e.g. `€`, `{`) is an escape plus a septet and is never split across parts; neither is a
UTF-16 surrogate pair (an emoji).
"""

from __future__ import annotations

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
