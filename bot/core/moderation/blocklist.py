"""Per-guild blocked words and patterns, matched against every folded form of a prompt."""

import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import regex

from bot.core.errors import InvalidSettingError
from bot.core.moderation.normalize import fold, unicode_fold

log = logging.getLogger(__name__)

EntryKind = Literal["word", "regex"]

# A small default for a general-audience bot; servers can turn it off and keep only their own entries. Terms that
# are also common names ("shota", "loli") are left to the moderation endpoint, which reads meaning.
DEFAULT_WORDS = ("nsfw", "porn", "porno", "pornographic", "hentai", "nude", "nudes", "lolicon", "shotacon", "csam")

MAX_WORD_LENGTH = 100
MAX_REGEX_LENGTH = 200
# Moderators write the regexes; the `regex` module can stop one that backtracks catastrophically.
MATCH_TIMEOUT_SECONDS = 0.05
# Prompt characters times word entries up to which matching runs on the event loop (the default list on a long
# prompt): below it, matching costs less than a hop to a worker thread does under load.
_INLINE_MATCH_BUDGET = 5_000
_PROBES = ("a" * 2000 + "!", "ab" * 1000 + "!", "a " * 1000 + "!", "x" * 30)
# Word edges are letters only: "nsfw_art" and "porn2" hold blocked words, "classic" does not hold "ass".
_NOT_AFTER_LETTER = r"(?<!\p{L})"
_NOT_BEFORE_LETTER = r"(?!\p{L})"


@dataclass(frozen=True)
class BlockEntry:
    """One blocked word or phrase (matched as whole words, in folded form) or regular expression, as written."""

    pattern: str
    kind: EntryKind


@dataclass(frozen=True)
class BlockMatch:
    """What matched: the entry, and the text it matched in."""

    entry: BlockEntry
    matched: str


def _is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _word_pattern(word: str) -> str:
    """Whole words, any non-letters between a phrase's words; scripts without spaces match as substrings."""
    parts = unicode_fold(word).split()
    body = r"\P{L}+".join(regex.escape(part) for part in parts)
    before = "" if _is_cjk(parts[0][0]) else _NOT_AFTER_LETTER
    after = "" if _is_cjk(parts[-1][-1]) else _NOT_BEFORE_LETTER
    return before + body + after


def prepare_entry(pattern: str, kind: EntryKind) -> BlockEntry:
    """Validate a moderator's entry: a word must fold to something; a regex must compile and stay fast."""
    if kind == "word":
        word = " ".join(pattern.split())
        if not unicode_fold(word).strip() or len(word) > MAX_WORD_LENGTH:
            raise InvalidSettingError(f"a blocked word must be 1 to {MAX_WORD_LENGTH} visible characters")
        return BlockEntry(word, "word")
    if not pattern or len(pattern) > MAX_REGEX_LENGTH:
        raise InvalidSettingError(f"a pattern must be 1 to {MAX_REGEX_LENGTH} characters")
    try:
        compiled = regex.compile(pattern, regex.IGNORECASE)
        for probe in _PROBES:
            compiled.search(probe, timeout=MATCH_TIMEOUT_SECONDS)
    except regex.error as exc:
        raise InvalidSettingError(f"that is not a valid regular expression ({exc})") from None
    except TimeoutError:
        raise InvalidSettingError("that pattern is too slow to match safely; simplify its repetitions") from None
    return BlockEntry(pattern, "regex")


class Blocklist:
    """A compiled set of entries: all words in one alternation, each regex on its own."""

    def __init__(self, entries: Iterable[BlockEntry]) -> None:
        self.entries = tuple(dict.fromkeys(entries))
        words = [entry for entry in self.entries if entry.kind == "word"]
        self._words = words
        self._word_pattern = (
            regex.compile("|".join(f"(?P<w{i}>{_word_pattern(e.pattern)})" for i, e in enumerate(words)))
            if words
            else None
        )
        self._regexes = [
            (entry, regex.compile(entry.pattern, regex.IGNORECASE)) for entry in self.entries if entry.kind == "regex"
        ]

    def is_quick_for(self, prompt: str) -> bool:
        """Whether matching ``prompt`` is quick enough to run on the event loop: words only, and few of them for its
        length (a moderator's regex may take up to its time limit)."""
        return not self._regexes and len(prompt) * max(1, len(self._words)) <= _INLINE_MATCH_BUDGET

    def match(self, prompt: str) -> BlockMatch | None:
        """The first entry found in ``prompt``: words in any folded form, regexes in those and as written."""
        variants = fold(prompt)
        if self._word_pattern is not None:
            for variant in variants:
                found = self._word_pattern.search(variant, concurrent=True)
                if found:
                    index = int((found.lastgroup or "w0")[1:])
                    return BlockMatch(self._words[index], found.group(0))
        as_written = prompt.casefold()
        for entry, compiled in self._regexes:
            for variant in (as_written, *variants):
                try:
                    found = compiled.search(variant, timeout=MATCH_TIMEOUT_SECONDS, concurrent=True)
                except TimeoutError:
                    # A prompt that makes a moderator's pattern slow is treated as matching it: safer than skipping.
                    log.warning("Blocklist pattern %r timed out on a prompt; treated as a match", entry.pattern)
                    return BlockMatch(entry, "")
                if found:
                    return BlockMatch(entry, found.group(0))
        return None
