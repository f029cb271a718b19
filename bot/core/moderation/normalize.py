"""Prompt normalisation for blocklist matching: the forms a blocked word can hide in, folded back to plain text.

``fold`` produces a few variants of a prompt (Unicode-folded, de-leeted, with spaced-out letters joined, with
stretched letters shortened); the blocklist matches whole words in every variant. Matching whole words only is
what keeps folding from creating false positives: "therapist" never contains the word "rapist".
"""

import re
import unicodedata

# Invisible characters used to split words: zero-width spaces and joiners, the BOM, soft hyphen, word joiner, and the
# bidirectional controls (which also reorder what a reader sees).
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]"
)

# The ASCII characters unicode_fold removes: controls other than newline and tab.
_ASCII_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# Letters from other scripts that look like Latin ones (after NFKC, which already folds full-width forms).
_HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
        "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ү": "y",
        # Greek
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
        "υ": "u", "χ": "x", "ω": "w", "ς": "s", "σ": "s",
        # Latin look-alikes that NFKC keeps
        "ı": "i", "ɡ": "g", "ɑ": "a", "ʟ": "l", "ꞵ": "b",
    }
)  # fmt: skip

# Digits and symbols standing in for letters inside a word. "1" is both i and l, so both readings are tried.
_LEET = str.maketrans(
    {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
     "@": "a", "$": "s", "!": "i", "|": "l", "+": "t"}
)  # fmt: skip
_LEET_ONE = ({"1": "i"}, {"1": "l"})
_LEET_CHARS = "013456789@$!|+"
_ANY_LEET = re.compile(f"[{re.escape(_LEET_CHARS)}]")

# A word-ish token that mixes letters with leet characters, e.g. "k1ll", "n00d", "$ex".
# A run of word and leet characters; only runs that also hold a Latin letter are de-leeted ("k1ll", not "1984").
_TOKEN = re.compile(rf"[\w{re.escape(_LEET_CHARS)}]+")
_LATIN_LETTER = re.compile("[a-z]")
# Three or more single letters (or leet characters) separated by one repeated filler: "n u d e", "n.u.d.e",
# "p 0 r n", "n_u_d_e".
_SINGLE = rf"[a-z{re.escape(_LEET_CHARS)}]"
_SPACED_LETTERS = re.compile(
    rf"(?<![\w{re.escape(_LEET_CHARS)}]){_SINGLE}(?P<sep>[\s.\-_*·•/\\,]{{1,3}})(?:{_SINGLE}(?P=sep))+{_SINGLE}"
    rf"(?![\w{re.escape(_LEET_CHARS)}])"
)
# "a" and "i" are words of their own: "a n u d e" is "a nude" as often as "anude".
_LONE_WORDS = ("a", "i")
_STRETCHED = re.compile(r"([a-z])\1{2,}")


def clean_prompt(text: str) -> str:
    """The prompt as sent on: control characters (NUL included) and invisible direction marks removed."""
    without_invisible = _INVISIBLE.sub("", text)
    return "".join(ch for ch in without_invisible if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()


def unicode_fold(text: str) -> str:
    """NFKC, case-folded; every invisible, format, control and combining character removed (so none can split a
    word); accents and look-alike letters folded."""
    if text.isascii():
        # The same result for the common case, without the per-character work: ASCII is stable under NFKC and NFKD,
        # case-folds to lower case, holds no combining or look-alike letters, and its only "C" characters are the
        # controls.
        return _ASCII_CONTROLS.sub("", text.lower())
    return _unicode_fold(text)


def _unicode_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    kept = "".join(ch for ch in decomposed if ch in "\n\t" or unicodedata.category(ch)[0] not in "CM")
    return unicodedata.normalize("NFC", kept).translate(_HOMOGLYPHS)


def _deleet(text: str, one: dict[str, str]) -> str:
    table = str.maketrans(one)

    def fold_token(match: re.Match[str]) -> str:
        token = match.group(0)
        return token.translate(_LEET).translate(table) if _LATIN_LETTER.search(token) else token

    return _TOKEN.sub(fold_token, text)


def _join_spaced(text: str, *, keep_lone_word: bool) -> str:
    def join(match: re.Match[str]) -> str:
        run = match.group(0)
        letters = re.sub(rf"[^a-z{re.escape(_LEET_CHARS)}]", "", run)
        if keep_lone_word and run[0] in _LONE_WORDS:
            return run[0] + " " + letters[1:]
        return letters

    return _SPACED_LETTERS.sub(join, text)


def fold(text: str) -> list[str]:
    """The distinct forms of ``text`` to match blocked words against, most literal first."""
    base = unicode_fold(text)
    variants = [base] + [_join_spaced(base, keep_lone_word=keep) for keep in (False, True)]
    if _ANY_LEET.search(base):  # joining spaced letters adds none, so without any there is nothing to de-leet
        variants += [_deleet(v, one) for v in list(variants) for one in _LEET_ONE]
    variants += [_STRETCHED.sub(r"\1", v) for v in list(variants)]
    variants += [_STRETCHED.sub(r"\1\1", v) for v in list(variants)]
    return list(dict.fromkeys(variants))
