"""Smart encoding: characters outside GSM-7 replaced by their GSM-7 look-alikes.

One curly quote, dash or non-breaking space makes a whole text UCS-2 (70 characters a
segment instead of 160, `kernel/text.py`). `LOOK_ALIKES` lists the punctuation and spaces
that have a plain GSM-7 twin; `smart_encode` replaces them. A character with no look-alike
(an emoji, a letter outside the alphabet) is left as it is, and the text stays UCS-2.

Only punctuation and spaces are here, never letters: `ç` → `c` or `ł` → `l` changes a
word, a curly quote does not (docs/decisions.md, "Smart encoding keeps only the text it
sends"). Invisible characters (zero-width space, soft hyphen) have no look-alike either:
removing them is not a replacement, and a text made only of them would become empty.
"""

from __future__ import annotations

LOOK_ALIKES: dict[str, str] = {
    # double quotes
    "\u201c": '"',  # left double quotation mark
    "\u201d": '"',  # right double quotation mark
    "\u201e": '"',  # double low-9 quotation mark
    "\u201f": '"',  # double high-reversed-9 quotation mark
    "\u00ab": '"',  # left-pointing double angle quotation mark
    "\u00bb": '"',  # right-pointing double angle quotation mark
    "\u2033": '"',  # double prime
    "\u02ba": '"',  # modifier letter double prime
    "\u301d": '"',  # reversed double prime quotation mark
    "\u301e": '"',  # double prime quotation mark
    "\uff02": '"',  # fullwidth quotation mark
    # single quotes and apostrophes
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark
    "\u201a": "'",  # single low-9 quotation mark
    "\u201b": "'",  # single high-reversed-9 quotation mark
    "\u2039": "'",  # single left-pointing angle quotation mark
    "\u203a": "'",  # single right-pointing angle quotation mark
    "\u2032": "'",  # prime
    "\u00b4": "'",  # acute accent
    "\u02b9": "'",  # modifier letter prime
    "\u02bb": "'",  # modifier letter turned comma
    "\u02bc": "'",  # modifier letter apostrophe
    "\u02c8": "'",  # modifier letter vertical line
    "\uff07": "'",  # fullwidth apostrophe
    # dashes and minus signs
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2015": "-",  # horizontal bar
    "\u2043": "-",  # hyphen bullet
    "\u2212": "-",  # minus sign
    "\ufe58": "-",  # small em dash
    "\uff0d": "-",  # fullwidth hyphen-minus
    # other punctuation
    "\u2026": "...",  # horizontal ellipsis
    "\u2024": ".",  # one dot leader
    "\u2044": "/",  # fraction slash
    "\u2215": "/",  # division slash
    "\u02c6": "^",  # modifier letter circumflex accent
    "\u02dc": "~",  # small tilde
    "\uff01": "!",  # fullwidth exclamation mark
    "\uff1f": "?",  # fullwidth question mark
    "\uff0c": ",",  # fullwidth comma
    "\uff1a": ":",  # fullwidth colon
    "\uff1b": ";",  # fullwidth semicolon
    # spaces
    "\t": " ",  # character tabulation
    "\u00a0": " ",  # no-break space
    "\u2000": " ",  # en quad
    "\u2001": " ",  # em quad
    "\u2002": " ",  # en space
    "\u2003": " ",  # em space
    "\u2004": " ",  # three-per-em space
    "\u2005": " ",  # four-per-em space
    "\u2006": " ",  # six-per-em space
    "\u2007": " ",  # figure space
    "\u2008": " ",  # punctuation space
    "\u2009": " ",  # thin space
    "\u200a": " ",  # hair space
    "\u202f": " ",  # narrow no-break space
    "\u205f": " ",  # medium mathematical space
    "\u3000": " ",  # ideographic space
}
"""Each character outside GSM-7 that has a GSM-7 look-alike, and that look-alike."""

_TABLE = str.maketrans(LOOK_ALIKES)


def smart_encode(text: str) -> str:
    """`text` with every character of `LOOK_ALIKES` replaced by its look-alike; any other
    character is kept. A text that was GSM-7 is returned unchanged."""
    return text.translate(_TABLE)
