"""A synthetic translation task: dates written in English, in many styles, to ISO dates.

``dates()`` draws dates between 1950-01-01 and 2049-12-31 and writes each in one of
twelve styles; the target is the ISO 8601 form. The source side varies word order,
abbreviations, ordinals, numbers spelled out, weekdays, casing and punctuation, so a
model must learn which characters say the day, the month and the year::

    the third of march nineteen ninety-four    ->  1994-03-03
    Thursday, March 3rd 1994                   ->  1994-03-03
    3/3/94                                     ->  1994-03-03   (month/day/year)
    03.03.1994                                 ->  1994-03-03   (day.month.year)

Numeric styles follow one convention each (slashes: the US month/day/year; dots: the
European day.month.year), and a two-digit year ``yy`` means 19yy from 50 and 20yy
below, so every sentence has exactly one answer.

The split is by date: the test dates (one day in ten) never occur in the training
split, in any style, so the test measures translation of unseen dates. Everything is
deterministic for a given seed.

    >>> from somanet.datasets import dates
    >>> train = dates("train", n=1000, seed=0)
    >>> len(train), train.sources[0], train.targets[0]
    (1000, 'Wednesday, January 24th 2035', '2035-01-24')
    >>> train.sources[4], train.styles[4]
    ('the twenty-eighth of December two thousand and five', 'spoken')
    >>> x, y = train.arrays()           # character ids, padded; y ends with <end>
    >>> x.shape, y.shape, train.target_vocab.decode(y[:1])
    ((1000, 59), (1000, 11), ['2035-01-24'])
"""
import datetime
import string

from ..._checks import check_choice, check_positive_int
from ...backend import fresh_generator
from ..text import CharVocabulary

FIRST_DATE = datetime.date(1950, 1, 1)
LAST_DATE = datetime.date(2049, 12, 31)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
         "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
         "seventeen", "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORDINAL_ONES = ("", "first", "second", "third", "fourth", "fifth", "sixth", "seventh",
                 "eighth", "ninth", "tenth", "eleventh", "twelfth", "thirteenth",
                 "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
                 "nineteenth")
_ORDINAL_TENS = {20: "twentieth", 30: "thirtieth"}
_SPLITS = ("train", "test", "all")
_TEST_EVERY = 10  # one date in ten (by day number) is a test date


# -- numbers in words ----------------------------------------------------------------------

def number_words(n):
    """An integer 0-99 in English words: ``94 -> "ninety-four"``."""
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + ("-" + _ONES[ones] if ones else "")


def ordinal_words(n):
    """A day of the month 1-31 as an ordinal in words: ``23 -> "twenty-third"``."""
    if n < 20:
        return _ORDINAL_ONES[n]
    tens, ones = divmod(n, 10)
    return _ORDINAL_TENS[n] if not ones else _TENS[tens] + "-" + _ORDINAL_ONES[ones]


def ordinal_suffix(n):
    """``n`` with its English ordinal suffix: 1st, 2nd, 3rd, 4th, 11th, 22nd."""
    if n % 100 in (11, 12, 13):
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def year_words(year, variant=0):
    """A year as it is spoken: ``1994 -> "nineteen ninety-four"``, ``1905 -> "nineteen oh
    five"``; from 2000 ``variant`` picks ``"two thousand and five"`` (0), ``"two thousand
    five"`` (1), or ``"twenty twelve"`` (2, from 2010; before, as 1)."""
    century, rest = divmod(year, 100)
    if century != 20:
        if rest == 0:
            return f"{number_words(century)} hundred"
        return f"{number_words(century)} {'oh ' + _ONES[rest] if rest < 10 else number_words(rest)}"
    if variant == 2 and rest >= 10:
        return f"twenty {number_words(rest)}"
    if rest == 0:
        return "two thousand"
    return "two thousand " + ("and " if variant == 0 else "") + number_words(rest)


# -- the styles ----------------------------------------------------------------------------

def _two_digit_year(date):
    return f"{date.year % 100:02d}"


def _day(date, rng):
    return f"{date.day:02d}" if rng.random() < 0.3 else str(date.day)


def _comma(rng):
    return "," if rng.random() < 0.5 else ""


def _day_month_year(d, r):
    return f"{_day(d, r)} {MONTHS[d.month - 1]} {d.year}"


def _day_mon_year(d, r):
    return f"{_day(d, r)} {MONTHS[d.month - 1][:3]} {d.year}"


def _month_day_year(d, r):
    return f"{MONTHS[d.month - 1]} {d.day}{_comma(r)} {d.year}"


def _mon_day_year(d, r):
    dot = "." if r.random() < 0.3 else ""
    return f"{MONTHS[d.month - 1][:3]}{dot} {d.day}{_comma(r)} {d.year}"


def _month_ordinal_year(d, r):
    return f"{MONTHS[d.month - 1]} {ordinal_suffix(d.day)}{_comma(r)} {d.year}"


def _ordinal_of_month(d, r):
    return f"the {ordinal_suffix(d.day)} of {MONTHS[d.month - 1]}{_comma(r)} {d.year}"


def _words_of_month(d, r):
    return f"the {ordinal_words(d.day)} of {MONTHS[d.month - 1]}{_comma(r)} {d.year}"


def _weekday(d, r):
    return f"{WEEKDAYS[d.weekday()]}, {MONTHS[d.month - 1]} {ordinal_suffix(d.day)} {d.year}"


def _short_weekday(d, r):
    return f"{WEEKDAYS[d.weekday()][:3]} {d.day} {MONTHS[d.month - 1][:3]} {d.year}"


def _us_numeric(d, r):
    if r.random() < 0.5:
        return f"{d.month}/{d.day}/{_two_digit_year(d)}"
    return f"{d.month:02d}/{d.day:02d}/{d.year}"


def _dotted(d, r):
    if r.random() < 0.5:
        return f"{d.day}.{d.month}.{d.year}"
    return f"{d.day:02d}.{d.month:02d}.{_two_digit_year(d)}"


def _spoken(d, r):
    variant = int(r.integers(3))
    return f"the {ordinal_words(d.day)} of {MONTHS[d.month - 1]} {year_words(d.year, variant)}"


# name -> (writer, example for 1994-03-03); the writers take (date, rng).
STYLES = {
    "day_month_year": (_day_month_year, "3 March 1994"),
    "day_mon_year": (_day_mon_year, "03 Mar 1994"),
    "month_day_year": (_month_day_year, "March 3, 1994"),
    "mon_day_year": (_mon_day_year, "Mar 3 1994"),
    "month_ordinal_year": (_month_ordinal_year, "March 3rd, 1994"),
    "ordinal_of_month": (_ordinal_of_month, "the 3rd of March 1994"),
    "words_of_month": (_words_of_month, "the third of March, 1994"),
    "weekday": (_weekday, "Thursday, March 3rd 1994"),
    "short_weekday": (_short_weekday, "Thu 3 Mar 1994"),
    "us_numeric": (_us_numeric, "3/3/94 or 03/03/1994 (month/day/year)"),
    "dotted": (_dotted, "3.3.1994 or 03.03.94 (day.month.year)"),
    "spoken": (_spoken, "the third of march nineteen ninety-four"),
}
_NUMERIC = ("us_numeric", "dotted")


def _cased(text, rng):
    """As written (capitalised names), all lower case, or all upper case."""
    draw = rng.random()
    if draw < 0.5:
        return text
    return text.lower() if draw < 0.85 else text.upper()


# -- vocabulary (CharVocabulary lives in somanet.data.text) ------------------------------

SOURCE_CHARACTERS = " ',-./" + string.digits + string.ascii_lowercase + string.ascii_uppercase
TARGET_CHARACTERS = "-" + string.digits


def date_vocabularies():
    """The source and target ``CharVocabulary`` of ``dates()``: the source holds space,
    ``',-./``, digits and both cases of the letters; the target ``-`` and the digits."""
    return CharVocabulary(SOURCE_CHARACTERS), CharVocabulary(TARGET_CHARACTERS)


# -- the dataset ---------------------------------------------------------------------------

class TranslationPairs:
    """Source and target sentences with their character vocabularies.

    Attributes:
        sources, targets: lists of strings, pair by pair.
        source_vocab, target_vocab: ``CharVocabulary`` objects.
        styles: the style name of each pair (``dates()``), or ``None``.
    """

    def __init__(self, sources, targets, source_vocab, target_vocab, styles=None):
        if len(sources) != len(targets):
            raise ValueError(f"TranslationPairs: {len(sources)} sources but {len(targets)} "
                             f"targets")
        self.sources, self.targets = list(sources), list(targets)
        self.source_vocab, self.target_vocab = source_vocab, target_vocab
        self.styles = None if styles is None else list(styles)

    def __len__(self):
        return len(self.sources)

    def __getitem__(self, index):
        return self.sources[index], self.targets[index]

    def arrays(self, source_length=None, target_length=None):
        """``(x, y)`` int64 id arrays: x (N, source_length) the sources padded with
        ``<pad>``; y (N, target_length) the targets followed by ``<end>`` and padding
        (what ``models.Seq2Seq.fit`` takes). Lengths default to the longest."""
        x = self.source_vocab.encode(self.sources, source_length)
        y = self.target_vocab.encode(self.targets, target_length, end=True)
        return x, y


def dates(split="train", n=10000, seed=0, styles=None):
    """Dates in English, in many styles, paired with their ISO 8601 form (a synthetic
    translation task; see the module's description).

    Args:
        split: ``"train"`` (9 dates in 10), ``"test"`` (the others: dates the training
            split never shows) or ``"all"``.
        n: how many pairs.
        seed: the random seed: the same seed gives the same pairs.
        styles: the style names to draw from, equally often (default all of
            ``STYLES``): ``day_month_year``, ``day_mon_year``, ``month_day_year``,
            ``mon_day_year``, ``month_ordinal_year``, ``ordinal_of_month``,
            ``words_of_month``, ``weekday``, ``short_weekday``, ``us_numeric`` (m/d/y),
            ``dotted`` (d.m.y), ``spoken`` (the year in words too).

    Returns:
        ``TranslationPairs``: ``sources`` (e.g. ``"the 3rd of March 1994"``),
        ``targets`` (``"1994-03-03"``), the vocabularies of ``date_vocabularies()``,
        ``styles``, and ``arrays()`` for the id arrays.
    """
    check_choice("dates", "split", split, _SPLITS)
    n = check_positive_int("dates", "n", n, what="a positive int")
    if styles is None:
        styles = list(STYLES)
    else:
        styles = [styles] if isinstance(styles, str) else list(styles)
        if not styles:
            raise ValueError("dates: styles is empty; give at least one of " +
                             ", ".join(STYLES))
        for style in styles:
            check_choice("dates", "styles entry", style, tuple(STYLES))
    rng = fresh_generator(seed)
    first, last = FIRST_DATE.toordinal(), LAST_DATE.toordinal()
    sources, targets, chosen = [], [], []
    # One draw after another (no batches), so that the first k pairs of n are the pairs
    # of n=k.
    while len(sources) < n:
        ordinal = int(rng.integers(first, last + 1))
        is_test = ordinal % _TEST_EVERY == 0
        if (split == "train" and is_test) or (split == "test" and not is_test):
            continue
        date = datetime.date.fromordinal(ordinal)
        style = styles[int(rng.integers(len(styles)))]
        text = STYLES[style][0](date, rng)
        if style not in _NUMERIC:
            text = _cased(text, rng)
        sources.append(text)
        targets.append(date.isoformat())
        chosen.append(style)
    return TranslationPairs(sources, targets, *date_vocabularies(), styles=chosen)
