"""GSM-7 / UCS-2 detection and segment counting."""

import pytest

from smsgw.kernel.text import GSM7, UCS2, analyse, fit_text, printable_text


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes please", "Yes please"),  # plain text is unchanged
        ("Olá — ça va? 😀", "Olá — ça va? 😀"),  # so are letters and emoji of any script
        ("a\nb", "a\nb"),  # line feed is kept
        ("a\r\nb", "a\nb"),  # CR LF and a lone CR become a line feed
        ("a\rb", "a\nb"),
        ("a\tb", "a b"),  # a tab becomes a space
        ("a\x00b\x07c\x1bd\x7fe", "abcde"),  # C0 controls and DEL: NUL, BEL, ESC
        ("a\x85b\x9bc", "abc"),  # C1 controls (NEL, CSI)
        ("a\u202ab\u202bc\u202cd\u202de\u202ef", "abcdef"),  # embeddings, overrides, PDF
        ("a\u2066b\u2067c\u2068d\u2069e", "abcde"),  # isolates
        ("a\u200eb\u200fc\u061cd", "abcd"),  # LRM, RLM, ALM
        ("\u202e\x00\u2066", ""),  # nothing printable left
        ("", ""),
    ],
)
def test_printable_text_drops_control_and_bidirectional_formatting_characters(text, expected):
    assert printable_text(text) == expected


def test_fit_text_keeps_a_text_within_the_limit_and_marks_a_cut():
    assert fit_text("a" * 1600, 1600, " (cut)") == "a" * 1600
    cut = fit_text("a" * 1601, 1600, " (cut)")
    assert len(cut) == 1600 and cut.endswith(" (cut)")
    assert fit_text("b" * 10_000, 20, "..") == "b" * 18 + ".."
