"""Smart encoding (kernel/smart_encoding.py): each look-alike, and what is left alone."""

import unicodedata

import pytest

from smsgw.kernel.smart_encoding import LOOK_ALIKES, smart_encode
from smsgw.kernel.text import GSM7, UCS2, analyse


@pytest.mark.parametrize(
    ("character", "look_alike"),
    sorted(LOOK_ALIKES.items()),
    ids=[f"U+{ord(c):04X}" for c, _ in sorted(LOOK_ALIKES.items())],
)
def test_each_character_outside_gsm7_becomes_its_gsm7_look_alike(character, look_alike):
    # Given a text that is UCS-2 only because of this one character
    text = f"Meet at 5{character}ok"
    assert analyse(text).encoding == UCS2

    # When it is smart-encoded
    encoded = smart_encode(text)

    # Then the character is its look-alike, and the text is GSM-7
    assert encoded == f"Meet at 5{look_alike}ok"
    assert analyse(encoded).encoding == GSM7


def test_the_table_holds_no_letters_and_no_gsm7_characters():
    for character, look_alike in LOOK_ALIKES.items():
        assert len(character) == 1
        # modifier letters (Lm: primes, apostrophes, the circumflex) are marks, not letters
        assert unicodedata.category(character) not in ("Lu", "Ll", "Lt", "Lo"), character
        assert analyse(character).encoding == UCS2, character
        assert analyse(look_alike).encoding == GSM7, character


@pytest.mark.parametrize(
    "text",
    ["Plain GSM-7 text: €5 {ok} [fine]", "Ünïcödé ä ö ü é à", "", "a\nb\rc"],
)
def test_a_gsm7_text_is_returned_unchanged(text):
    assert smart_encode(text) == text


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("Code 1234 \U0001f600 \u2013 thanks", "Code 1234 \U0001f600 - thanks"),
        ("Gar\u00e7on \u201cjoli\u201d", 'Gar\u00e7on "joli"'),  # ç is not in GSM-7
        ("zero\u200bwidth", "zero\u200bwidth"),  # invisible: no look-alike, kept
    ],
)
def test_characters_without_a_look_alike_are_left_and_the_text_stays_ucs2(text, encoded):
    assert smart_encode(text) == encoded
    assert analyse(encoded).encoding == UCS2


def test_curly_quotes_turn_a_two_segment_ucs2_text_into_one_gsm7_segment():
    text = (
        "Hi Sam, your order\u2019s ready \u2014 \u201cpick up\u201d at desk 4 before 6pm "
        "today\u2026 Reply HELP for help."
    )
    before, after = analyse(text), analyse(smart_encode(text))
    assert (before.encoding, before.segments) == (UCS2, 2)
    assert (after.encoding, after.segments) == (GSM7, 1)
