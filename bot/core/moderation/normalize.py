"""Prompt normalisation for blocklist matching: the forms a blocked word can hide in, folded back to plain text.

``fold`` produces a few variants of a prompt (Unicode-folded, de-leeted, with spaced-out letters joined, with
stretched letters shortened); the blocklist matches whole words in every variant. Unicode folding turns letters and
digits that look like ASCII ones, from other scripts or from Latin beyond ASCII, into those ASCII ones, as Unicode's
confusables data (UTS #39, read through the confusable-homoglyphs package) lists them. Matching whole words only is
what keeps folding from creating false positives: "therapist" never contains the word "rapist".
"""

import re
import unicodedata
from functools import lru_cache

from confusable_homoglyphs import categories, confusables

# Invisible characters used to split words: zero-width spaces and joiners, the BOM, soft hyphen, word joiner, and the
# bidirectional controls (which also reorder what a reader sees).
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]"
)

# The ASCII characters unicode_fold removes: controls other than newline and tab.
_ASCII_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

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
    word); accents removed, and letters and digits that look like ASCII ones folded to them."""
    if text.isascii():
        # The same result for the common case, without the per-character work: ASCII is stable under NFKC and NFKD,
        # case-folds to lower case, holds no combining characters, is left as it is by look-alike folding, and its
        # only "C" characters are the controls.
        return _ASCII_CONTROLS.sub("", text.lower())
    return _unicode_fold(text)


def _unicode_fold(text: str) -> str:
    kept = unicodedata.normalize("NFC", _without_marks(unicodedata.normalize("NFKC", text).casefold()))
    return "".join(map(_latin, kept))


def _without_marks(text: str) -> str:
    """NFKD with every control, format and combining character removed, newlines and tabs kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch in "\n\t" or unicodedata.category(ch)[0] not in "CM")


@lru_cache(maxsize=4096)
def _look_alikes(ch: str) -> tuple[str, ...]:
    """The ASCII letters and digits that Unicode's confusables data lists ``ch`` as confusable with, marks aside
    (Greek η is listed as n with a line below)."""
    found = confusables.is_confusable(ch, greedy=True, preferred_aliases=[])
    if not found:
        return ()
    forms = (_without_marks(glyph["c"]) for glyph in found[0]["homoglyphs"])
    return tuple(form for form in forms if len(form) == 1 and form.isascii() and form.isalnum())


def _looks_latin(ch: str) -> bool:
    """Whether ``ch`` is a Latin letter or the confusables data lists it as confusable with one."""
    return categories.alias(ch) == "LATIN" or bool(confusables.is_confusable(ch, preferred_aliases=["latin"]))


@lru_cache(maxsize=4096)
def _latin(ch: str) -> str:
    """The lower-case ASCII letter (for a letter) or digit (for a digit) that ``ch`` looks like, or ``ch`` itself:
    letters stay letters and digits stay digits, so folding never moves a word edge."""
    if ch.isascii() or not ch.isalnum():
        return ch
    alikes = _look_alikes(ch)
    if not alikes and ch.islower() and len(ch.upper()) == 1 and _looks_latin(ch):
        # Cyrillic н, т, к are listed as Latin letters without an ASCII form (small capitals ʜ and ᴛ, kra ĸ);
        # matching ignores case, and their capitals are listed as H, T and K.
        alikes = _look_alikes(ch.upper())
    # The data lists a character with one prototype; the prototype's own look-alikes complete the choice, so the
    # Bengali digit zero (listed as O) folds to the digit 0.
    candidates = [*alikes, *(more for alike in alikes for more in _look_alikes(alike))]
    same_kind = [alike for alike in candidates if alike.isalpha() == ch.isalpha()]
    return same_kind[0].lower() if same_kind else ch


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
