"""Per-guild blocked words and patterns, matched against every folded form of a prompt."""

import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import regex

from bot.services.errors import InvalidSettingError
from bot.services.normalize import fold, unicode_fold

log = logging.getLogger(__name__)

EntryKind = Literal["word", "regex"]

# A small default for a general-audience bot; servers can turn it off and keep only their own entries.
DEFAULT_WORDS = (
    "nsfw", "porn", "porno", "pornographic", "hentai", "nude", "nudes",
    "loli", "lolicon", "shota", "shotacon", "csam",
)  # fmt: skip

MAX_WORD_LENGTH = 100
MAX_REGEX_LENGTH = 200
# Moderators write the regexes; the `regex` module can stop one that backtracks catastrophically.
MATCH_TIMEOUT_SECONDS = 0.05
_PROBES = ("a" * 2000 + "!", "ab" * 1000 + "!", "a " * 1000 + "!", "x" * 30)


@dataclass(frozen=True)
class BlockEntry:
    """One blocked word or phrase (matched as whole words) or regular expression."""

    pattern: str
    kind: EntryKind


@dataclass(frozen=True)
class BlockMatch:
    """What matched: the entry, and the text it matched in the folded prompt."""

    entry: BlockEntry
    matched: str


def _is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _word_pattern(word: str) -> str:
    """Whole-word matching, so "ass" never matches in "classic"; scripts without spaces match as substrings."""
    body = r"\s+".join(regex.escape(part) for part in word.split())
    before = "" if _is_cjk(word[0]) else r"(?<!\w)"
    after = "" if _is_cjk(word[-1]) else r"(?!\w)"
    return before + body + after


def prepare_entry(pattern: str, kind: EntryKind) -> BlockEntry:
    """Validate a moderator's entry: words are folded like prompts are; regexes must compile and stay fast."""
    if kind == "word":
        word = " ".join(unicode_fold(pattern).split())
        if not word or len(word) > MAX_WORD_LENGTH:
            raise InvalidSettingError(f"a blocked word must be 1 to {MAX_WORD_LENGTH} characters")
        return BlockEntry(word, "word")
    if not pattern or len(pattern) > MAX_REGEX_LENGTH:
        raise InvalidSettingError(f"a pattern must be 1 to {MAX_REGEX_LENGTH} characters")
    try:
        compiled = regex.compile(pattern, regex.IGNORECASE)
        for probe in _PROBES:
            compiled.search(probe, timeout=MATCH_TIMEOUT_SECONDS)
    except regex.error as exc:
        raise InvalidSettingError(f"that is not a valid regular expression ({exc.msg})") from None
    except TimeoutError:
        raise InvalidSettingError("that pattern is too slow to match safely; simplify its repetitions") from None
    return BlockEntry(pattern, "regex")


class Blocklist:
    """A compiled set of entries."""

    def __init__(self, entries: Iterable[BlockEntry]) -> None:
        self.entries = tuple(dict.fromkeys(entries))
        self._compiled = [
            (entry, regex.compile(_word_pattern(entry.pattern) if entry.kind == "word" else entry.pattern, regex.I))
            for entry in self.entries
        ]

    def match(self, prompt: str) -> BlockMatch | None:
        """The first entry found in any folded form of ``prompt``, or ``None``."""
        variants = fold(prompt)
        for entry, compiled in self._compiled:
            for variant in variants:
                try:
                    found = compiled.search(variant, timeout=MATCH_TIMEOUT_SECONDS)
                except TimeoutError:
                    log.warning("Blocklist pattern %r timed out; skipped", entry.pattern)
                    break
                if found:
                    return BlockMatch(entry, found.group(0))
        return None
