"""GSM-7 / UCS-2 detection and segment counting."""

import pytest

from smsgw.kernel.text import GSM7, UCS2, analyse


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a" * 160, GSM7, 1),
        ("a" * 161, GSM7, 2),
        ("a" * 306, GSM7, 2),
        ("a" * 307, GSM7, 3),
        ("€" * 80, GSM7, 1),  # 160 septets: an extension character counts double
        ("€" * 81, GSM7, 2),
        ("a" * 159 + "€", GSM7, 2),  # 161 septets
        ("a" * 70, GSM7, 1),
        ("é" * 70, GSM7, 1),  # é is in the GSM basic alphabet
        ("ê" * 70, UCS2, 1),  # ê is not
        ("ê" * 71, UCS2, 2),
        ("ê" * 134, UCS2, 2),
        ("ê" * 135, UCS2, 3),
        ("😀" * 35, UCS2, 1),  # each emoji is two UTF-16 code units
        ("😀" * 36, UCS2, 2),
    ],
)
def test_encoding_and_segments(text, encoding, segments):
    info = analyse(text)
    assert (info.encoding, info.segments) == (encoding, segments)


def test_an_extension_character_is_never_split_across_segments():
    # 152 plain septets then '€' (2 septets) does not fit in the first 153-septet part.
    text = "a" * 152 + "€" + "a" * 153
    assert analyse(text).units == 307
    assert analyse(text).segments == 3


def test_an_emoji_is_never_split_across_segments():
    text = "ê" * 66 + "😀" + "ê" * 67
    assert analyse(text).segments == 3
