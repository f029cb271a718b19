"""Blocklist matching: evasions are caught, innocent words are not."""

import random

import pytest

from bot.core.errors import InvalidSettingError
from bot.core.moderation import normalize
from bot.core.moderation.blocklist import DEFAULT_WORDS, BlockEntry, Blocklist, prepare_entry
from bot.core.moderation.normalize import fold, unicode_fold

BLOCKLIST = Blocklist(
    [
        *(BlockEntry(word, "word") for word in DEFAULT_WORDS),
        *(prepare_entry(word, "word") for word in ("ass", "rapist", "cunt", "cock", "kill", "裸体", "blood bath")),
        prepare_entry(r"behead(ed|ing)?", "regex"),
    ]
)

EVASIONS = [
    "nude",
    "NUDE",
    "n u d e",
    "n.u.d.e",
    "n-u-d-e",
    "n_u_d_e",
    "n * u * d * e",
    "a n u d e beach",
    "a n.s.f.w picture",
    "ｎｕｄｅ",  # full-width
    "nu\u200bde",  # zero-width space
    "nu\u200dde",  # zero-width joiner
    "n\u00adude",  # soft hyphen
    "nυdе",  # Greek upsilon, Cyrillic e
    "пude",  # Cyrillic п is not a look-alike of n: must NOT be caught (see NOT_EVASIONS)
    "nüde",
    "nuuuude",
    "p0rn",
    "pr0n",  # not a folding of "porn": must NOT be caught (checked below)
    "h3nt41",
    "$ex is fine but nud3 is not",
    "4ss",
    "k1ll",
    "a BLOOD   bath",
    "beheading",
    "一张裸体画",
    "\u202enude",  # right-to-left override
    "nu\U000e0041de",  # tag character
    "nu\ufe0fde",  # variation selector
    "nu\U000e0100de",  # supplementary variation selector
    "nsfw_art",  # word edges are letters only
    "porn_star",
    "hentai2",
    "p 0 r n",  # spaced-out leet
    "p.0.r.n",
    "blood-bath",  # phrases match across any separator
]
NOT_EVASIONS = {"пude", "pr0n"}

INNOCENT = [
    "a classic car",
    "Scunthorpe United at home",
    "an assassin in the shadows",
    "a cocktail party",
    "my therapist's office",
    "the grape harvest",
    "a bass guitar",
    "Hancock Street",
    "skilled craftsman",
    "a passage through the mountains",
    "一只在夕阳下奔跑的狗",
    "I like 1984 and 4 cats",
    "a b c d blocks on a table",
    "the bloodbath of colours in a sunset",
    "Shota Imanaga pitching",
    "route 6 6 and a 1 2 3 count",
    "",
]


@pytest.mark.parametrize("prompt", [p for p in EVASIONS if p not in NOT_EVASIONS])
def test_evasions_are_caught(prompt: str) -> None:
    assert BLOCKLIST.match(prompt) is not None, fold(prompt)


@pytest.mark.parametrize("prompt", [*INNOCENT, *NOT_EVASIONS])
def test_innocent_prompts_are_not(prompt: str) -> None:
    assert BLOCKLIST.match(prompt) is None, fold(prompt)


def test_folding_removes_invisible_and_direction_characters() -> None:
    assert unicode_fold("a\u200bb\u202ec\u2066d\ufeffe") == "abcde"
    assert unicode_fold("Ｃａｆé") == "cafe"


def test_ascii_takes_a_shortcut_to_the_same_folding() -> None:
    every_ascii_character = "".join(map(chr, range(128)))
    texts = [every_ascii_character] + [
        "".join(random.Random(seed).choices(every_ascii_character, k=seed % 50)) for seed in range(2000)
    ]
    for text in texts:
        assert unicode_fold(text) == normalize._unicode_fold(text), repr(text)


def test_text_without_leet_characters_has_none_in_any_form_so_de_leeting_is_skipped() -> None:
    letters = "abcdefghijklmnopqrstuvwxyz  .-_*/,2"
    for seed in range(2000):
        text = "".join(random.Random(seed).choices(letters, k=seed % 40))
        for variant in fold(text):
            assert all(normalize._deleet(variant, one) == variant for one in normalize._LEET_ONE), repr(text)


def test_only_small_word_lists_on_short_prompts_are_matched_on_the_event_loop() -> None:
    defaults = Blocklist([BlockEntry(word, "word") for word in DEFAULT_WORDS])
    assert defaults.is_quick_for("a cat on a sofa " * 10)
    assert not defaults.is_quick_for("a cat on a sofa " * 400)
    many = Blocklist([BlockEntry(f"word{i}", "word") for i in range(500)])
    assert not many.is_quick_for("a cat on a sofa")
    with_regex = Blocklist([BlockEntry("nsfw", "word"), BlockEntry("c[a@]t+", "regex")])
    assert not with_regex.is_quick_for("a cat"), "a moderator's regex may take up to its time limit"


def test_word_entries_are_kept_as_written_and_matched_folded() -> None:
    entry = prepare_entry("  Blood   Bath  ", "word")
    assert entry == BlockEntry("Blood Bath", "word")
    assert Blocklist([entry]).match("a BL00D-bath") is not None
    assert Blocklist([prepare_entry("порно", "word")]).match("ПОРНО") is not None
    assert Blocklist([prepare_entry("café", "regex")]).match("the Café") is not None, (
        "regexes also see the prompt as written"
    )


@pytest.mark.parametrize(
    ("pattern", "kind", "problem"),
    [
        ("", "word", "1 to"),
        ("\u200b", "word", "visible"),
        ("x" * 101, "word", "1 to"),
        ("(unclosed", "regex", "not a valid regular expression"),
        ("(a|aa)+$", "regex", "too slow"),
        ("y" * 201, "regex", "1 to"),
    ],
)
def test_bad_entries_are_explained(pattern: str, kind: str, problem: str) -> None:
    with pytest.raises(InvalidSettingError, match=problem):
        prepare_entry(pattern, kind)  # type: ignore[arg-type]


def test_a_40000_character_prompt_is_matched_to_the_end() -> None:
    prompt = ("a perfectly ordinary sentence about cats " * 1000)[:40000]
    assert BLOCKLIST.match(prompt) is None
    assert BLOCKLIST.match(prompt + " nude") is not None
