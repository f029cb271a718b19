"""Look-alike folding from Unicode's confusables data: what it folds, what it leaves alone, what it never reads."""

import unicodedata

import pytest

from bot.core.moderation import normalize
from bot.core.moderation.blocklist import DEFAULT_WORDS, BlockEntry, Blocklist
from bot.core.moderation.normalize import fold, unicode_fold

DEFAULTS = Blocklist([BlockEntry(word, "word") for word in DEFAULT_WORDS])


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("ոսde", "nude"),  # Armenian vo and seh
        ("ꓠꓴꓓꓰ", "nude"),  # Lisu
        ("ᏢᎾᏒn", "porn"),  # Cherokee
        ("ƞsfw", "nsfw"),  # Latin n with long right leg
        ("ᴄsam", "csam"),  # Latin small capital c
        ("ɦentai", "hentai"),  # Latin h with hook
    ],
)
def test_look_alikes_the_hand_written_table_missed_are_folded(text: str, folded: str) -> None:
    assert not unicodedata.normalize("NFKC", text).casefold().isascii(), "NFKC alone leaves them as they are"
    assert unicode_fold(text) == folded
    assert DEFAULTS.match(f"a {text} picture") is not None


def test_a_digit_look_alike_folds_to_the_digit_and_is_then_de_leeted() -> None:
    assert unicode_fold("p০rn") == "p0rn"  # Bengali zero, listed as O, whose look-alikes include the digit 0
    assert DEFAULTS.match("p০rn") is not None


def test_folding_ignores_case_so_blocked_words_match_in_either_case() -> None:
    assert unicode_fold("ΝΑΙ") == unicode_fold("ναι") == "vai", "Greek nu is read as its lower case, which looks like v"
    assert Blocklist([BlockEntry("ναι", "word")]).match("ΝΑΙ") is not None
    assert Blocklist([BlockEntry("ΝΑΙ", "word")]).match("ναι") is not None
    assert unicode_fold("KІLL kіll") == "kill kill", "Cyrillic і in either case"


def test_a_lower_case_letter_listed_as_a_latin_small_capital_takes_its_capitals_look_alike() -> None:
    assert unicode_fold("нentai") == "hentai", "Cyrillic н is listed as small capital ʜ, its capital Н as H"
    assert unicode_fold("тест") == "tect"
    assert unicode_fold("տ") == "տ", "Armenian տ looks like no Latin letter, though its capital Տ looks like S"


def test_letters_stay_letters_and_digits_stay_digits_so_word_edges_never_move() -> None:
    assert unicode_fold("бЗз") == "бзз", "listed only as look-alikes of 6 and 3"
    latin = normalize._latin.__wrapped__
    folded = {ch: latin(ch) for ch in map(chr, range(0x80, 0x10000))}
    changed = {ch: out for ch, out in folded.items() if out != ch}
    assert len(changed) > 400
    for ch, out in changed.items():
        assert len(out) == 1, repr(ch)
        assert out.isascii(), repr(ch)
        assert out.isalnum(), repr(ch)
        assert out.isalpha() == ch.isalpha(), repr(ch)


@pytest.mark.parametrize(
    "text",
    [
        "Кошка спит на тёплом подоконнике, а за окном идёт снег",
        "Η γάτα κοιμάται στον ήλιο δίπλα στο ανοιχτό παράθυρο",
        "Կատուն քնում է պատուհանի մոտ",
        "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ ᎠᏂᏴᏫᏯ",
        "Нудний ранок у горах, туман і сосни",
    ],
)
def test_innocent_text_in_other_scripts_is_folded_but_not_blocked(text: str) -> None:
    assert sum(ch.isascii() and ch.isalpha() for ch in unicode_fold(text)) >= 5, "folding did change the text"
    assert DEFAULTS.match(text) is None, fold(text)


def test_chinese_text_is_left_as_it_is() -> None:
    text = "一只在夕阳下奔跑的狗背景是雪山"
    assert unicode_fold(text) == text
    assert DEFAULTS.match(text) is None


def test_ascii_characters_never_reach_the_confusables_data(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the confusables data was consulted")

    normalize._latin.cache_clear()
    normalize._look_alikes.cache_clear()
    assert unicode_fold("ρ") == "p"  # looked up (and cached) before the data is taken away
    monkeypatch.setattr(normalize.confusables, "is_confusable", refuse)
    assert fold("A Nude Statue, 0K?") == ["a nude statue, 0k?", "a nude statue, ok?"]
    assert unicode_fold("ρORN 0K? ρρ") == "porn 0k? pp", "nor do the ASCII characters of other prompts"
