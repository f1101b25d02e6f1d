"""Sequence data sets for the course, all offline and all seeded.

Synthetic tasks (the same ``seed`` always gives the same arrays):

- :func:`adding_problem` -- remember two marked numbers across a long sequence.
- :func:`recall_task` -- recall the last of a few marked numbers, seen long ago.
- :func:`sine_waves` -- predict the next value of a noisy sine wave.

Real data that ships with installed packages (nothing is downloaded):

- :func:`load_names` -- first names from the US census lists of the ``names`` package,
  with :class:`Vocabulary` to turn them into padded batches of character ids.
- :func:`seattle_temperature` -- Seattle temperatures from ``vega_datasets``,
  with :func:`make_windows` and :func:`train_val_split` for forecasting.

Shapes follow the course convention: ``N`` sequences, ``T`` time steps, batch first.
"""

from importlib import resources

import numpy as np

# MSE of always predicting 1 on the adding problem: the target is the sum of two
# independent U(0, 1) numbers, whose mean is 1 and variance 2 * (1/12) = 1/6.
ADDING_MEAN_BASELINE_MSE = 1.0 / 6.0


def _check_sizes(N, T, min_T=2):
    """Raise a readable ValueError for a batch size or length that cannot work."""
    if not isinstance(N, (int, np.integer)) or N < 1:
        raise ValueError(f"N (number of sequences) must be a positive integer, got {N!r}")
    if not isinstance(T, (int, np.integer)) or T < min_T:
        raise ValueError(f"T (number of time steps) must be an integer >= {min_T}, got {T!r}")


def adding_problem(N, T, seed=0):
    """
    The adding problem (Hochreiter & Schmidhuber, 1997): each sequence holds T random
    numbers and marks exactly two of them; the target is the sum of the two marked
    numbers. One mark falls in the first half of the sequence and one in the second,
    so a model has to carry the first number across at least T/2 steps.

    Predicting the mean (1.0) for every sequence gives an MSE of 1/6 = 0.167
    (``ADDING_MEAN_BASELINE_MSE``): a model has learned something only below that.

    Inputs:
    - N: Number of sequences
    - T: Number of time steps, at least 2
    - seed: Seed for np.random.default_rng

    Returns a tuple of:
    - x: Inputs of shape (N, T, 2); x[:, :, 0] are numbers in [0, 1),
      x[:, :, 1] is 1 at the two marked steps and 0 elsewhere
    - y: Targets of shape (N, 1), the sum of the two marked numbers
    """
    _check_sizes(N, T)
    rng = np.random.default_rng(seed)
    values = rng.random((N, T))  # (N, T)
    half = T // 2
    first = rng.integers(0, half, size=N)  # (N,)
    second = rng.integers(half, T, size=N)  # (N,)
    rows = np.arange(N)
    markers = np.zeros((N, T))  # (N, T)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1)  # (N, T, 2)
    y = (values[rows, first] + values[rows, second])[:, None]  # (N, 1)
    return x, y


# MSE of always predicting 0.5 on the recall task: the target is one U(0, 1) number, of variance 1/12.
RECALL_MEAN_BASELINE_MSE = 1.0 / 12.0


def recall_task(N, T, seed=0, max_marks=3):
    """
    Recall the last marked number: each sequence holds T random numbers and marks between
    1 and ``max_marks`` of them, all in its first half; the target is the *last* marked
    number. A model has to overwrite what it holds at every mark and then keep it, unchanged,
    for at least T/2 steps: a memory that can be written, rewritten and held, which is what
    gates give a cell.

    Predicting 0.5 for every sequence gives an MSE of 1/12 = 0.083
    (``RECALL_MEAN_BASELINE_MSE``): a model has learned something only below that.

    Inputs:
    - N: Number of sequences
    - T: Number of time steps, at least 2 * max_marks
    - seed: Seed for np.random.default_rng
    - max_marks: Largest number of marks in a sequence

    Returns a tuple of:
    - x: Inputs of shape (N, T, 2); x[:, :, 0] are numbers in [0, 1),
      x[:, :, 1] is 1 at the marked steps and 0 elsewhere
    - y: Targets of shape (N, 1), the last marked number
    """
    _check_sizes(N, T, min_T=2 * max_marks)
    rng = np.random.default_rng(seed)
    values = rng.random((N, T))  # (N, T)
    half = T // 2
    marks = rng.integers(1, max_marks + 1, size=N)  # (N,) how many steps are marked
    # the marked steps: the `marks` smallest of `half` random keys, i.e. a random subset of the first half
    ranks = rng.random((N, half)).argsort(axis=1).argsort(axis=1)  # (N, half)
    markers = np.zeros((N, T))
    markers[:, :half] = ranks < marks[:, None]
    last = half - 1 - np.argmax(markers[:, half - 1::-1], axis=1)  # (N,) the last marked step
    x = np.stack([values, markers], axis=-1)  # (N, T, 2)
    y = values[np.arange(N), last][:, None]  # (N, 1)
    return x, y


def sine_waves(N, T, noise=0.1, seed=0):
    """
    Noisy sine waves with a random frequency and phase per sequence, for
    next-step prediction: the target at step t is the clean wave at step t + 1.

    Inputs:
    - N: Number of sequences
    - T: Number of time steps, at least 2
    - noise: Standard deviation of the Gaussian noise added to the inputs
    - seed: Seed for np.random.default_rng

    Returns a tuple of:
    - x: Noisy inputs of shape (N, T, 1)
    - y: Clean next values of shape (N, T, 1)
    """
    _check_sizes(N, T)
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    frequency = rng.uniform(0.02, 0.1, size=(N, 1))  # (N, 1) cycles per step
    phase = rng.uniform(0, 2 * np.pi, size=(N, 1))  # (N, 1)
    steps = np.arange(T + 1)[None, :]  # (1, T + 1)
    clean = np.sin(2 * np.pi * frequency * steps + phase)  # (N, T + 1)
    x = clean[:, :-1] + noise * rng.standard_normal((N, T))  # (N, T)
    y = clean[:, 1:]  # (N, T)
    return x[:, :, None], y[:, :, None]


# Character-level names ------------------------------------------------------

_NAME_FILES = {"female": "dist.female.first", "male": "dist.male.first", "last": "dist.all.last"}


def load_names(kind="first"):
    """
    Names from the 1990 US census lists shipped with the ``names`` package,
    lower-case, most frequent first.

    Inputs:
    - kind: "first" (female and male first names), "female", "male" or "last"

    Returns:
    - names: A list of str, without duplicates
    """
    kinds = {"first": ["female", "male"], "female": ["female"], "male": ["male"], "last": ["last"]}
    if kind not in kinds:
        raise ValueError(f"kind must be one of {sorted(kinds)}, got {kind!r}")
    rows = []
    for part in kinds[kind]:
        text = resources.files("names").joinpath(_NAME_FILES[part]).read_text()
        for line in text.splitlines():
            name, frequency, _, _ = line.split()
            rows.append((-float(frequency), name.lower()))
    unique = {}
    for frequency, name in sorted(rows):
        unique.setdefault(name, frequency)
    return list(unique)


class Vocabulary:
    """
    Maps characters to integer ids and back. Ids 0, 1 and 2 are the special tokens
    ``<pad>`` (fills short sequences in a batch), ``<s>`` (start of a name) and
    ``</s>`` (end of a name); the characters follow in sorted order.

    >>> vocab = Vocabulary(["ann", "bob"])
    >>> vocab.encode("nab")
    [5, 3, 4]
    >>> vocab.decode([5, 3, 4])
    'nab'
    """

    PAD, START, END = "<pad>", "<s>", "</s>"

    def __init__(self, words):
        chars = sorted(set("".join(words)))
        self.tokens = [self.PAD, self.START, self.END] + chars
        self.index = {token: i for i, token in enumerate(self.tokens)}

    def __len__(self):
        return len(self.tokens)

    def __repr__(self):
        return f"Vocabulary({len(self)} tokens: {''.join(self.tokens[3:])!r} + <pad>, <s>, </s>)"

    @property
    def pad_id(self):
        return self.index[self.PAD]

    @property
    def start_id(self):
        return self.index[self.START]

    @property
    def end_id(self):
        return self.index[self.END]

    def encode(self, word):
        """Return the list of ids of the characters of ``word``."""
        unknown = sorted(set(word) - set(self.index))
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {unknown}")
        return [self.index[ch] for ch in word]

    def decode(self, ids):
        """Turn ids back into a string; stops at ``</s>`` and skips ``<pad>`` and ``<s>``."""
        chars = []
        for i in np.asarray(ids).ravel():
            token = self.tokens[int(i)]
            if token == self.END:
                break
            if token not in (self.PAD, self.START):
                chars.append(token)
        return "".join(chars)

    def batch(self, words):
        """
        Build a padded batch for next-character prediction: the input is ``<s>``
        followed by the characters, the target is the characters followed by ``</s>``.

        Inputs:
        - words: A list of N strings

        Returns a tuple of:
        - x: Input ids of shape (N, T), T = longest word + 1, padded with <pad>
        - y: Target ids of shape (N, T)
        - mask: Boolean array of shape (N, T), True where y is a real target
        """
        if len(words) == 0:
            raise ValueError("words must hold at least one word")
        T = max(len(word) for word in words) + 1
        x = np.full((len(words), T), self.pad_id, dtype=np.int64)  # (N, T)
        y = np.full((len(words), T), self.pad_id, dtype=np.int64)  # (N, T)
        for n, word in enumerate(words):
            ids = self.encode(word)
            x[n, : len(ids) + 1] = [self.start_id] + ids
            y[n, : len(ids) + 1] = ids + [self.end_id]
        return x, y, y != self.pad_id


# A real time series ---------------------------------------------------------


def seattle_temperature(freq="daily"):
    """
    Seattle temperatures from the ``vega_datasets`` package (local files).

    Inputs:
    - freq: "daily" for the daily maximum 2012-2015 in degrees Celsius (1,461 days),
      or "hourly" for the hourly temperature of 2010 in degrees Fahrenheit (8,759 hours)

    Returns a tuple of:
    - dates: numpy datetime64 array of shape (L,)
    - values: float64 array of shape (L,)
    """
    from vega_datasets import local_data

    if freq == "daily":
        frame = local_data.seattle_weather()
        column = "temp_max"
    elif freq == "hourly":
        frame = local_data.seattle_temps()
        column = "temp"
    else:
        raise ValueError(f'freq must be "daily" or "hourly", got {freq!r}')
    return frame["date"].to_numpy(dtype="datetime64[ns]"), frame[column].to_numpy(dtype=np.float64)


def make_windows(series, T, horizon=1):
    """
    Cut a 1-D series into overlapping windows for forecasting: each input is T
    consecutive values, its target the value ``horizon`` steps after the window.

    Inputs:
    - series: Array of shape (L,)
    - T: Window length, at least 2
    - horizon: How many steps ahead to predict, at least 1

    Returns a tuple of:
    - x: Windows of shape (L - T - horizon + 1, T, 1)
    - y: Targets of shape (L - T - horizon + 1, 1)
    """
    series = np.asarray(series, dtype=np.float64)
    if series.ndim != 1:
        raise ValueError(f"series must be one-dimensional, got shape {series.shape}")
    if not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
    if not isinstance(T, (int, np.integer)) or T < 2:
        raise ValueError(f"T (window length) must be an integer >= 2, got {T!r}")
    count = len(series) - T - horizon + 1
    if count < 1:
        raise ValueError(f"a series of {len(series)} values is too short for T={T}, horizon={horizon}")
    starts = np.arange(count)[:, None]  # (N, 1)
    x = series[starts + np.arange(T)[None, :]]  # (N, T)
    y = series[starts[:, 0] + T + horizon - 1][:, None]  # (N, 1)
    return x[:, :, None], y


def train_val_split(x, y, val_fraction=0.2):
    """
    Split windows in time order: the first part trains, the last part validates.
    Shuffling before the split would leak the future into training, because
    neighbouring windows overlap.

    Inputs:
    - x: Array of shape (N, ...)
    - y: Array of shape (N, ...)
    - val_fraction: Share of the windows kept for validation, in (0, 1)

    Returns a tuple of:
    - x_train, y_train, x_val, y_val
    """
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction!r}")
    split = len(x) - int(round(len(x) * val_fraction))
    if split < 1 or split >= len(x):
        raise ValueError(f"cannot split {len(x)} windows with val_fraction={val_fraction}")
    return x[:split], y[:split], x[split:], y[split:]



# Dates, human-readable to ISO ---------------------------------------------------
#
# Data for notebook 08: translate "Saturday, February 1, 2003" or "1.2.03" into "2003-02-01".
# Most formats are the date formats of the Unicode CLDR, as the ``babel`` package knows them
# for English, French and German; two are written by hand. Days run from 1950-01-01 to
# 2049-12-31, so a two-digit year is never ambiguous: 50..99 is 19yy and 00..49 is 20yy.

DATE_FIRST, DATE_LAST = "1950-01-01", "2049-12-31"

# name: (locale, CLDR pattern or None for a hand-written format, how it is written)
_DATE_SPECS = {
    "en_full": ("en", "EEEE, MMMM d, y", 'babel, locale "en", format="full"'),
    "en_long": ("en", "MMMM d, y", 'babel, locale "en", format="long"'),
    "en_medium": ("en", "MMM d, y", 'babel, locale "en", format="medium"'),
    "en_short": ("en", "M/d/yy", 'babel, locale "en", format="short" (month first)'),
    "en_abbreviated": ("en", "EEE d MMM yy", 'babel, locale "en", pattern "EEE d MMM yy"'),
    "en_lower": ("en", None, "by hand: day, lower-case English month, year"),
    "en_ordinal": ("en", None, "by hand: lower-case English month, ordinal day, year"),
    "fr_full": ("fr", "EEEE d MMMM y", 'babel, locale "fr", format="full"'),
    "fr_long": ("fr", "d MMMM y", 'babel, locale "fr", format="long"'),
    "fr_medium": ("fr", "d MMM y", 'babel, locale "fr", format="medium"'),
    "fr_short": ("fr", "dd/MM/y", 'babel, locale "fr", format="short" (day first)'),
    "de_full": ("de", "EEEE, d. MMMM y", 'babel, locale "de", format="full"'),
    "de_long": ("de", "d. MMMM y", 'babel, locale "de", format="long"'),
    "de_medium": ("de", "dd.MM.y", 'babel, locale "de", format="medium"'),
    "de_short": ("de", "dd.MM.yy", 'babel, locale "de", format="short"'),
    "de_compact": ("de", "d.M.yy", 'babel, locale "de", pattern "d.M.yy" (no leading zeros)'),
}

# Share of the calendar days kept for the test split, and the fixed seed that picks them.
_DATE_TEST_FRACTION = 0.1
_DATE_SPLIT_SEED = 2003


def _as_date(date):
    """A datetime.date from a datetime.date, an ISO string or a numpy datetime64, checked to be in range."""
    import datetime

    given = date
    if isinstance(date, datetime.datetime):
        date = date.date()
    elif not isinstance(date, datetime.date):
        date = np.datetime64(date, "D").astype(object)  # a datetime.date for years 1 to 9999
    if not isinstance(date, datetime.date) or not DATE_FIRST <= date.isoformat() <= DATE_LAST:
        raise ValueError(f"dates must lie between {DATE_FIRST} and {DATE_LAST} "
                         f"(two-digit years would be ambiguous otherwise), got {given}")
    return date


_name_tables = {}


def _names(locale):
    """Month and weekday names of a locale from babel's CLDR data: {"MMMM": {1: "January", ...}, ...}."""
    if locale not in _name_tables:
        from babel import Locale

        data = Locale.parse(locale)
        _name_tables[locale] = {
            "MMMM": dict(data.months["format"]["wide"]),
            "MMM": dict(data.months["format"]["abbreviated"]),
            "EEEE": dict(data.days["format"]["wide"]),  # 0 is Monday, as in date.weekday()
            "EEE": dict(data.days["format"]["abbreviated"]),
        }
    return _name_tables[locale]


def _ordinal(day):
    """1 -> "1st", 2 -> "2nd", 3 -> "3rd", 11 -> "11th", 22 -> "22nd", ..."""
    if day in (11, 12, 13):
        return f"{day}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


# How babel writes each CLDR field the formats use, from a datetime.date and the locale's names.
_DATE_FIELDS = {
    "d": lambda date, names: str(date.day),  # day without a leading zero
    "dd": lambda date, names: f"{date.day:02d}",  # day with a leading zero
    "M": lambda date, names: str(date.month),
    "MM": lambda date, names: f"{date.month:02d}",
    "MMM": lambda date, names: names["MMM"][date.month],  # abbreviated month name
    "MMMM": lambda date, names: names["MMMM"][date.month],  # month name
    "EEE": lambda date, names: names["EEE"][date.weekday()],  # abbreviated weekday name
    "EEEE": lambda date, names: names["EEEE"][date.weekday()],  # weekday name
    "y": lambda date, names: str(date.year),
    "yy": lambda date, names: f"{date.year % 100:02d}",  # last two digits of the year
}


_templates = {}


def _template(pattern):
    """
    babel's reading of a CLDR pattern as a %-template and the writers of its fields:
    "d. MMMM y" -> ("%s. %s %s", [writer of "d", writer of "MMMM", writer of "y"]).
    """
    if pattern not in _templates:
        from babel.dates import tokenize_pattern

        template, writers = "", []
        for kind, value in tokenize_pattern(pattern):
            if kind == "field":
                char, count = value
                template += "%s"
                writers.append(_DATE_FIELDS[char * count])
            else:
                template += value.replace("%", "%%")
        _templates[pattern] = (template, writers)
    return _templates[pattern]


def human_date(date, name):
    """
    Write one date in one of the formats of ``DATE_FORMATS``.

    The CLDR patterns are filled in field by field with babel's month and weekday names
    ("EEEE" weekday, "MMMM" month, "MMM" abbreviated month, "d"/"dd" day without/with a
    leading zero, "M"/"MM" month number, "y" year, "yy" last two digits of the year), see
    ``_DATE_FIELDS``. This gives the same string as ``babel.dates.format_date(date,
    format=pattern, locale=locale)``, several times faster.

    >>> human_date("2003-02-01", "de_full")
    'Samstag, 1. Februar 2003'
    >>> human_date("2003-02-01", "en_ordinal")
    'february 1st 2003'

    Inputs:
    - date: A datetime.date, an ISO string "YYYY-MM-DD" or a numpy datetime64,
      between 1950-01-01 and 2049-12-31
    - name: A key of DATE_FORMATS

    Returns:
    - text: A str of at most 30 characters
    """
    if name not in _DATE_SPECS:
        raise ValueError(f"unknown date format {name!r}; choose from {list(_DATE_SPECS)}")
    date = _as_date(date)
    locale, pattern, _ = _DATE_SPECS[name]
    names = _names(locale)
    if name == "en_lower":
        return f"{date.day} {names['MMMM'][date.month].lower()} {date.year}"
    if name == "en_ordinal":
        return f"{names['MMMM'][date.month].lower()} {_ordinal(date.day)} {date.year}"
    template, writers = _template(pattern)
    return template % tuple([write(date, names) for write in writers])


# name -> how the format is written, with Saturday 1 February 2003 as an example.
DATE_FORMATS = {
    name: f"{how}: {human_date('2003-02-01', name)!r}" for name, (_, _, how) in _DATE_SPECS.items()
}


def _calendar_days(split):
    """The days of a split as a sorted datetime64[D] array."""
    days = np.arange(np.datetime64(DATE_FIRST), np.datetime64(DATE_LAST) + 1)  # (36525,)
    if split == "all":
        return days
    if split not in ("train", "test"):
        raise ValueError(f'split must be "train", "test" or "all", got {split!r}')
    order = np.random.default_rng(_DATE_SPLIT_SEED).permutation(len(days))
    is_test = np.zeros(len(days), dtype=bool)
    is_test[order[: int(round(_DATE_TEST_FRACTION * len(days)))]] = True
    return days[is_test] if split == "test" else days[~is_test]


def date_pairs(n, seed=0, split="train", formats=None):
    """
    Draw (human-readable date, ISO date) pairs, such as ("1 févr. 2003", "2003-02-01").

    Each pair takes a calendar day uniformly from the days of ``split``, then a format
    uniformly from ``formats``. The test days are a fixed 10% of the calendar days
    (3,652 of 36,525), the same whatever the seed, and never appear in the training
    split, in any format: exact-match accuracy on "test" measures how well a model
    reads dates it has never seen.

    Inputs:
    - n: Number of pairs
    - seed: Seed for np.random.default_rng; the days drawn depend on the seed and the
      split only, so changing ``formats`` rewrites the same days in other formats
    - split: "train" (90% of the days), "test" (the other 10%) or "all"
    - formats: A list of keys of DATE_FORMATS, or None for all of them

    Returns:
    - pairs: A list of n tuples (text, iso) of str; iso is "YYYY-MM-DD"
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n (number of pairs) must be a positive integer, got {n!r}")
    formats = list(DATE_FORMATS) if formats is None else [formats] if isinstance(formats, str) else list(formats)
    unknown = [name for name in formats if name not in DATE_FORMATS]
    if unknown or not formats:
        raise ValueError(f"formats must be a non-empty list of {list(DATE_FORMATS)}, got {formats!r}")
    days = _calendar_days(split)
    rng = np.random.default_rng(seed)
    chosen_days = days[rng.integers(0, len(days), size=n)]  # (n,)
    chosen_formats = rng.integers(0, len(formats), size=n)  # (n,)
    return [(human_date(day, formats[k]), str(day)) for day, k in zip(chosen_days, chosen_formats)]


def date_vocabularies(pairs=None):
    """
    Character vocabularies for the dates: one for the human-readable side, one for ISO.

    The source vocabulary is built from every format applied to every day of 1999 and
    2000, which hold every month, weekday, day number and digit, so it covers every string
    any format writes for any date in range, test days included.

    Inputs:
    - pairs: Optional list of (text, iso) pairs whose characters are added to the source
      vocabulary (dates written by hand, say); None adds nothing

    Returns a tuple of:
    - source_vocab: A Vocabulary for the human-readable dates
    - target_vocab: A Vocabulary of the digits and "-"
    """
    days = np.arange(np.datetime64("1999-01-01"), np.datetime64("2001-01-01"))  # (731,)
    texts = [human_date(day, name) for name in DATE_FORMATS for day in days]
    if pairs is not None:
        texts += [text for text, _ in pairs]
    return Vocabulary(texts), Vocabulary(["0123456789-"])


def encode_dates(pairs, source_vocab, target_vocab):
    """
    Turn (text, iso) pairs into padded arrays of ids for an encoder-decoder.

    The encoder reads ``x``, each text padded at the end with <pad>. The decoder is
    trained with teacher forcing: at step t it reads ``y_in[:, t]`` (<s> then the ISO
    characters) and should predict ``y_out[:, t]`` (the ISO characters then </s>).
    ISO dates all have 10 characters, so ``y_mask`` is all True here, but it marks the
    real targets should targets of different lengths be padded.

    Inputs:
    - pairs: A list of N tuples (text, iso)
    - source_vocab: Vocabulary for the texts
    - target_vocab: Vocabulary for the ISO dates

    Returns a dictionary with:
    - x: Source ids of shape (N, T_in), T_in = longest text, int64
    - x_lengths: Number of characters of each text, shape (N,), int64
    - y_in: Decoder inputs of shape (N, T_out), T_out = longest iso + 1 (11), int64
    - y_out: Decoder targets of shape (N, T_out), int64
    - y_mask: Boolean array of shape (N, T_out), True where y_out is a real target
    - texts: The N texts, a list of str
    - isos: The N ISO dates, a list of str
    """
    if len(pairs) == 0:
        raise ValueError("pairs must hold at least one pair")
    texts = [text for text, _ in pairs]
    isos = [iso for _, iso in pairs]
    N = len(pairs)
    x_lengths = np.array([len(text) for text in texts], dtype=np.int64)  # (N,)
    x = np.full((N, x_lengths.max()), source_vocab.pad_id, dtype=np.int64)  # (N, T_in)
    for i, text in enumerate(texts):
        x[i, : len(text)] = source_vocab.encode(text)
    T_out = max(len(iso) for iso in isos) + 1
    y_in = np.full((N, T_out), target_vocab.pad_id, dtype=np.int64)  # (N, T_out)
    y_out = np.full((N, T_out), target_vocab.pad_id, dtype=np.int64)  # (N, T_out)
    y_mask = np.zeros((N, T_out), dtype=bool)  # (N, T_out)
    for i, iso in enumerate(isos):
        ids = target_vocab.encode(iso)
        y_in[i, : len(ids) + 1] = [target_vocab.start_id] + ids
        y_out[i, : len(ids) + 1] = ids + [target_vocab.end_id]
        y_mask[i, : len(ids) + 1] = True
    return {"x": x, "x_lengths": x_lengths, "y_in": y_in, "y_out": y_out, "y_mask": y_mask,
            "texts": texts, "isos": isos}
