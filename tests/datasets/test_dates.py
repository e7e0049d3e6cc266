"""datasets.dates: every source sentence says its target date (checked by a parser written
here, independently of the generator), determinism, the split by date, the styles, the
number words, the character vocabularies and the errors."""
import datetime
import re

import numpy as np
import pytest

import somanet as sn
from somanet.datasets import CharVocabulary, date_vocabularies, dates
from somanet.data.datasets.dates import STYLES, number_words, ordinal_suffix, year_words

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten "
                                    "eleven twelve thirteen fourteen fifteen sixteen "
                                    "seventeen eighteen nineteen".split())}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
            "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11,
            "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
            "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
            "twentieth": 20, "thirtieth": 30}


def _number(word):
    if word in UNITS:
        return UNITS[word]
    if word in TENS:
        return TENS[word]
    tens, ones = word.split("-")
    return TENS[tens] + UNITS[ones]


def _ordinal(word):
    if word in ORDINALS:
        return ORDINALS[word]
    match = re.fullmatch(r"(\d+)(st|nd|rd|th)", word)
    if match:
        return int(match.group(1))
    tens, ones = word.split("-")
    return TENS[tens] + ORDINALS[ones]


def _two_digit(year):
    return 1900 + year if year >= 50 else 2000 + year


def _spoken_year(words):
    if words[:2] == ["two", "thousand"]:
        rest = [w for w in words[2:] if w != "and"]
        return 2000 + (_number(rest[0]) if rest else 0)
    century = {"nineteen": 1900, "twenty": 2000}[words[0]]
    return century + _number(words[1])


def parse(text):
    """The date a source sentence says, read without the generator's code."""
    lowered = text.lower()
    numeric = re.fullmatch(r"(\d{1,2})([/.])(\d{1,2})[/.](\d{2}|\d{4})", lowered)
    if numeric:
        first, separator, second, year = numeric.groups()
        month, day = (first, second) if separator == "/" else (second, first)
        year = int(year) if len(year) == 4 else _two_digit(int(year))
        return datetime.date(year, int(month), int(day)), None
    words = lowered.replace(",", "").replace(".", "").split()
    weekday = None
    if words[0] in DAYS or words[0] in [d[:3] for d in DAYS]:
        weekday = [d[:3] for d in DAYS].index(words.pop(0)[:3])
    words = [w for w in words if w not in ("the", "of")]
    month_at = next(i for i, w in enumerate(words) if w in MONTHS or w in
                    [m[:3] for m in MONTHS])
    month = [m[:3] for m in MONTHS].index(words[month_at][:3]) + 1
    rest = words[:month_at] + words[month_at + 1:]
    day = int(rest[0]) if rest[0].isdigit() else _ordinal(rest[0])
    year = int(rest[1]) if rest[1].isdigit() else _spoken_year(rest[1:])
    return datetime.date(year, month, day), weekday


def test_every_source_says_its_target_in_its_style():
    pairs = dates("all", n=3000, seed=0)
    assert sorted(set(pairs.styles)) == sorted(STYLES)
    for source, target in zip(pairs.sources, pairs.targets):
        date, weekday = parse(source)
        assert date.isoformat() == target, source
        assert weekday is None or weekday == date.weekday(), source
        assert datetime.date(1950, 1, 1) <= date <= datetime.date(2049, 12, 31)
    casings = {"lower": 0, "upper": 0, "mixed": 0}
    for source in pairs.sources:
        if any(c.isalpha() for c in source):
            casings["lower" if source == source.lower() else
                    "upper" if source == source.upper() else "mixed"] += 1
    assert min(casings.values()) > 100


def test_the_same_seed_gives_the_same_pairs_and_a_prefix_for_fewer():
    first, again = dates("train", n=500, seed=3), dates("train", n=500, seed=3)
    assert first.sources == again.sources and first.targets == again.targets
    assert dates("train", n=50, seed=3).sources == first.sources[:50]
    assert dates("train", n=500, seed=4).sources != first.sources


def test_the_test_split_holds_dates_the_training_split_never_shows():
    train, test = dates("train", n=5000, seed=0), dates("test", n=1000, seed=0)
    train_days = {datetime.date.fromisoformat(t).toordinal() for t in train.targets}
    test_days = {datetime.date.fromisoformat(t).toordinal() for t in test.targets}
    assert not train_days & test_days
    assert len(test_days) > 800  # spread over the 3,652 test dates, not a few
    years = {int(t[:4]) for t in test.targets}
    assert min(years) < 1955 and max(years) > 2045


def test_styles_select_what_is_drawn():
    pairs = dates("train", n=200, seed=0, styles=["us_numeric", "dotted"])
    assert set(pairs.styles) == {"us_numeric", "dotted"}
    assert all(re.fullmatch(r"[\d/.]+", source) for source in pairs.sources)
    assert set(dates("train", n=20, seed=0, styles="weekday").styles) == {"weekday"}


def test_number_words():
    assert [number_words(n) for n in (0, 13, 20, 94)] == ["zero", "thirteen", "twenty",
                                                          "ninety-four"]
    assert [ordinal_suffix(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"]
    assert year_words(1994) == "nineteen ninety-four"
    assert year_words(1905) == "nineteen oh five"
    assert [year_words(2005, v) for v in (0, 1, 2)] == [
        "two thousand and five", "two thousand five", "two thousand five"]
    assert year_words(2012, 2) == "twenty twelve" and year_words(2000) == "two thousand"


def test_arrays_and_the_vocabularies():
    pairs = dates("train", n=300, seed=1)
    x, y = pairs.arrays()
    assert x.dtype == np.int64 and y.dtype == np.int64
    assert x.shape == (300, max(len(s) for s in pairs.sources)) and y.shape == (300, 11)
    assert pairs.source_vocab.decode(x) == pairs.sources
    assert pairs.target_vocab.decode(y) == pairs.targets
    assert np.all(y[:, 10] == CharVocabulary.end_id)
    assert np.all(x[x != 0] >= 4)  # no <unk> in generated text
    source, target = date_vocabularies()
    assert len(source) == 4 + 6 + 10 + 52 and len(target) == 4 + 11
    wide, _ = pairs.arrays(source_length=80)
    assert wide.shape == (300, 80) and np.all(wide[:, x.shape[1]:] == 0)
    assert pairs[0] == (pairs.sources[0], pairs.targets[0]) and len(pairs) == 300


def test_a_character_vocabulary():
    vocab = CharVocabulary("abc")
    assert vocab.tokens == ["<pad>", "<start>", "<end>", "<unk>", "a", "b", "c"]
    ids = vocab.encode(["ab", "cxa"], start=True, end=True)
    assert ids.tolist() == [[1, 4, 5, 2, 0], [1, 6, 3, 4, 2]]
    assert vocab.decode(ids) == ["ab", "c\ufffda"]
    assert vocab.encode("ba").tolist() == [[5, 4]]
    assert vocab.encode([]).shape == (0, 0)
    with pytest.raises(ValueError, match=r"needs 3 ids \(with start/end\), more than length=2"):
        vocab.encode(["ab"], length=2, end=True)
    with pytest.raises(ValueError, match=r"each character once, got \['a'\]"):
        CharVocabulary("aba")
    with pytest.raises(ValueError, match="single characters, got 'ab'"):
        CharVocabulary(["ab"])
    with pytest.raises(TypeError, match="expected strings, got int"):
        vocab.encode([3])
    with pytest.raises(ValueError, match=r"id 9 is outside \[0, 7\)"):
        vocab.decode([[9]])
    with pytest.raises(ValueError, match="expected int ids"):
        vocab.decode(np.ones((2, 2)))


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="split must be one of 'train', 'test', 'all'"):
        dates("valid")
    with pytest.raises(ValueError, match="styles entry must be one of .*Did you mean "
                                         "'dotted'"):
        dates(styles=["doted"])
    with pytest.raises(ValueError, match="styles is empty"):
        dates(styles=[])
    with pytest.raises(ValueError, match="n must be a positive int"):
        dates(n=0)


def test_reachable_as_sn_datasets():
    assert sn.datasets.dates is dates and "dates" in sn.datasets.__all__
