"""Tests for rnnlab.data: seeded synthetic tasks, the offline real data sets, and their helpers."""

import datetime
import doctest
import re
import socket

import numpy as np
import pytest

import rnnlab.data
from rnnlab.data import (
    ADDING_MEAN_BASELINE_MSE,
    DATE_FORMATS,
    RECALL_MEAN_BASELINE_MSE,
    Vocabulary,
    adding_problem,
    date_pairs,
    date_vocabularies,
    encode_dates,
    human_date,
    load_names,
    make_windows,
    recall_task,
    seattle_temperature,
    sine_waves,
    train_val_split,
)

TASKS = {"adding": adding_problem, "recall": recall_task, "sine": sine_waves}


# Determinism -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TASKS))
def test_same_seed_gives_same_arrays(name):
    first, second = TASKS[name](6, 12, seed=3), TASKS[name](6, 12, seed=3)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_different_seed_gives_different_arrays(name):
    first, second = TASKS[name](6, 12, seed=3), TASKS[name](6, 12, seed=4)
    assert not np.array_equal(first[0], second[0])
    assert not np.array_equal(first[1], second[1])


@pytest.mark.parametrize("task", [adding_problem, recall_task, sine_waves])
@pytest.mark.parametrize(
    "N, T, match",
    [
        (0, 20, "N .* positive integer"),
        (-3, 20, "N .* positive integer"),
        (4.0, 20, "N .* positive integer"),
        ("4", 20, "N .* positive integer"),
        (4, 1, "T .* integer >="),
        (4, 12.0, "T .* integer >="),
    ],
)
def test_tasks_reject_bad_sizes(task, N, T, match):
    with pytest.raises(ValueError, match=match):
        task(N, T)


# Adding problem --------------------------------------------------------------


def test_adding_problem_shapes_and_dtypes():
    x, y = adding_problem(5, 9, seed=0)
    assert x.shape == (5, 9, 2) and y.shape == (5, 1)
    assert x.dtype == np.float64 and y.dtype == np.float64


@pytest.mark.parametrize("T", [2, 3, 10, 51])
def test_adding_problem_marks_one_step_in_each_half(T):
    x, _ = adding_problem(500, T, seed=2)
    markers = x[:, :, 1]
    assert set(np.unique(markers)) <= {0.0, 1.0}
    np.testing.assert_array_equal(markers.sum(axis=1), 2)
    half = T // 2
    np.testing.assert_array_equal(markers[:, :half].sum(axis=1), 1)
    np.testing.assert_array_equal(markers[:, half:].sum(axis=1), 1)


def test_adding_problem_values_are_uniform_in_unit_interval():
    x, _ = adding_problem(2000, 20, seed=0)
    values = x[:, :, 0]
    assert values.min() >= 0.0 and values.max() < 1.0
    assert abs(values.mean() - 0.5) < 0.01


def test_adding_problem_target_is_sum_of_marked_values():
    x, y = adding_problem(300, 15, seed=5)
    marked_sum = np.array([x[n, x[n, :, 1] == 1.0, 0].sum() for n in range(len(x))])
    np.testing.assert_allclose(y[:, 0], marked_sum, rtol=1e-12)


def test_adding_problem_mean_baseline_mse_is_one_sixth():
    _, y = adding_problem(200_000, 10, seed=0)
    assert ADDING_MEAN_BASELINE_MSE == pytest.approx(1 / 6)
    assert abs(y.mean() - 1.0) < 0.005
    mse_of_predicting_mean = np.mean((y - 1.0) ** 2)
    assert abs(mse_of_predicting_mean - ADDING_MEAN_BASELINE_MSE) < 0.003


# Recall task -----------------------------------------------------------------


@pytest.mark.parametrize(("T", "max_marks"), [(6, 3), (10, 3), (31, 3), (8, 1), (20, 5)])
def test_recall_task_marks_one_to_max_marks_steps_in_the_first_half(T, max_marks):
    x, y = recall_task(800, T, seed=3, max_marks=max_marks)
    assert x.shape == (800, T, 2) and y.shape == (800, 1) and x.dtype == y.dtype == np.float64
    marks = x[:, :, 1]
    assert set(np.unique(marks)) <= {0.0, 1.0}
    counts = marks.sum(axis=1)
    assert counts.min() == 1 and counts.max() == max_marks
    assert set(np.unique(counts)) == set(range(1, max_marks + 1))  # every count occurs
    assert not marks[:, T // 2:].any()


def test_recall_task_target_is_the_last_marked_value():
    x, y = recall_task(300, 12, seed=4)
    last = [x[n, np.flatnonzero(x[n, :, 1])[-1], 0] for n in range(len(x))]
    np.testing.assert_array_equal(y[:, 0], last)


def test_recall_task_marked_steps_are_spread_over_the_first_half():
    x, _ = recall_task(20_000, 10, seed=5)
    share = x[:, :5, 1].sum(axis=0) / x[:, :5, 1].sum()
    np.testing.assert_allclose(share, 0.2, atol=0.01)


def test_recall_task_mean_baseline_mse_is_one_twelfth():
    _, y = recall_task(200_000, 10, seed=0)
    assert RECALL_MEAN_BASELINE_MSE == pytest.approx(1 / 12)
    assert abs(np.mean((y - 0.5) ** 2) - RECALL_MEAN_BASELINE_MSE) < 0.002


def test_recall_task_rejects_a_length_too_short_for_its_marks():
    with pytest.raises(ValueError, match="T .* integer >= 6"):
        recall_task(4, 5)


# Sine waves ------------------------------------------------------------------


def test_sine_waves_shapes_and_dtypes():
    x, y = sine_waves(6, 30, seed=0)
    assert x.shape == (6, 30, 1) and y.shape == (6, 30, 1)
    assert x.dtype == np.float64 and y.dtype == np.float64


def test_sine_waves_without_noise_target_is_next_input():
    x, y = sine_waves(8, 40, noise=0.0, seed=3)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])


def test_sine_waves_noise_is_on_inputs_with_given_std():
    x, y = sine_waves(2000, 50, noise=0.2, seed=0)
    residual = x[:, 1:, 0] - y[:, :-1, 0]
    assert abs(residual.mean()) < 0.005
    assert residual.std() == pytest.approx(0.2, rel=0.02)


def test_sine_waves_targets_are_clean_sinusoids():
    _, y = sine_waves(20, 60, noise=0.5, seed=1)
    s = y[:, :, 0]
    # A pure sinusoid obeys s[t+1] + s[t-1] = 2 cos(omega) s[t]; fit 2 cos(omega) per sequence.
    ratio = np.sum((s[:, 2:] + s[:, :-2]) * s[:, 1:-1], axis=1) / np.sum(s[:, 1:-1] ** 2, axis=1)  # (N,)
    residual = s[:, 2:] + s[:, :-2] - ratio[:, None] * s[:, 1:-1]
    assert np.max(np.abs(residual)) < 1e-10
    # Frequencies of 0.02 .. 0.1 cycles per step.
    assert np.all(ratio >= 2 * np.cos(2 * np.pi * 0.1) - 1e-9)
    assert np.all(ratio <= 2 * np.cos(2 * np.pi * 0.02) + 1e-9)
    assert np.max(np.abs(s)) <= 1.0


def test_sine_waves_rejects_negative_noise():
    with pytest.raises(ValueError, match="noise must be >= 0"):
        sine_waves(4, 10, noise=-0.1)


# Names -----------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch):
    """Make any attempt to open a socket fail, to prove the data is read from local files."""

    def refuse(*args, **kwargs):
        raise OSError("network access in a test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def first_names():
    return load_names()


def test_load_names_works_offline(no_network):
    names = load_names()
    assert len(names) > 4000


def test_names_are_lowercase_letters_and_unique(first_names):
    assert all(name.isalpha() and name == name.lower() for name in first_names)
    assert len(set(first_names)) == len(first_names)


def test_names_contain_common_names(first_names):
    for name in ["mary", "james", "john", "patricia", "linda"]:
        assert name in first_names


def test_names_most_frequent_first():
    assert load_names("female")[0] == "mary"
    assert load_names("male")[0] == "james"
    first = load_names("first")
    assert first.index("james") < first.index("linda") < first.index("zona")


def test_first_names_are_female_and_male_together(first_names):
    female, male = load_names("female"), load_names("male")
    assert set(first_names) == set(female) | set(male)
    assert len(female) > 4000 and len(male) > 1000
    assert "smith" in load_names("last") and "smith" not in first_names


def test_load_names_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        load_names("middle")


def test_vocabulary_special_ids_and_sorted_characters():
    vocab = Vocabulary(["bob", "ann"])
    assert (vocab.pad_id, vocab.start_id, vocab.end_id) == (0, 1, 2)
    assert vocab.tokens[:3] == ["<pad>", "<s>", "</s>"]
    assert vocab.tokens[3:] == ["a", "b", "n", "o"]
    assert len(vocab) == 7
    assert vocab.encode("nab") == [5, 3, 4]


def test_docstring_examples_are_right():
    result = doctest.testmod(rnnlab.data)
    assert result.attempted > 0 and result.failed == 0


def test_vocabulary_round_trip_on_all_names(first_names):
    vocab = Vocabulary(first_names)
    assert len(vocab) == 3 + 26
    for name in first_names:
        ids = vocab.encode(name)
        assert min(ids) >= 3
        assert vocab.decode(ids) == name


def test_vocabulary_decode_stops_at_end_and_skips_pad_and_start():
    vocab = Vocabulary(["abc"])
    a, b, c = vocab.encode("abc")
    assert vocab.decode([vocab.start_id, a, b, vocab.end_id, c]) == "ab"
    assert vocab.decode(np.array([[a, vocab.pad_id, c]])) == "ac"


def test_vocabulary_encode_rejects_unknown_characters():
    vocab = Vocabulary(["ann", "bob"])
    with pytest.raises(ValueError, match=r"not in the vocabulary: \['x', 'z'\]"):
        vocab.encode("zax")


def test_vocabulary_batch_padding_and_mask():
    words = ["bob", "ann", "jo", "a"]
    vocab = Vocabulary(words)
    x, y, mask = vocab.batch(words)
    assert x.shape == (4, 4) and y.shape == (4, 4) and mask.shape == (4, 4)
    assert mask.dtype == bool
    for n, word in enumerate(words):
        ids = vocab.encode(word)
        L = len(word)
        assert list(x[n, : L + 1]) == [vocab.start_id] + ids
        assert list(y[n, : L + 1]) == ids + [vocab.end_id]
        np.testing.assert_array_equal(x[n, L + 1 :], vocab.pad_id)
        np.testing.assert_array_equal(y[n, L + 1 :], vocab.pad_id)
        np.testing.assert_array_equal(mask[n], np.arange(4) < L + 1)
        assert vocab.decode(x[n]) == word and vocab.decode(y[n]) == word
    assert mask.sum() == sum(len(word) + 1 for word in words)


def test_vocabulary_batch_rejects_empty_list_and_unknown_characters():
    vocab = Vocabulary(["ann"])
    with pytest.raises(ValueError, match="at least one word"):
        vocab.batch([])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocab.batch(["ann", "bob"])


# Seattle temperatures ----------------------------------------------------------


def test_seattle_daily_temperatures(no_network):
    dates, values = seattle_temperature("daily")
    assert dates.shape == (1461,) and values.shape == (1461,)
    assert np.issubdtype(dates.dtype, np.datetime64) and values.dtype == np.float64
    assert dates[0] == np.datetime64("2012-01-01") and dates[-1] == np.datetime64("2015-12-31")
    np.testing.assert_array_equal(np.diff(dates), np.timedelta64(1, "D"))
    # Daily maxima in degrees Celsius.
    assert np.all(np.isfinite(values))
    assert -10 < values.min() < 5 and 30 < values.max() < 45
    assert 10 < values.mean() < 22


def test_seattle_hourly_temperatures(no_network):
    dates, values = seattle_temperature("hourly")
    assert dates.shape == (8759,) and values.shape == (8759,)
    assert np.all(np.diff(dates) > np.timedelta64(0, "h"))
    assert dates[0].astype("datetime64[Y]") == np.datetime64("2010", "Y")
    assert dates[-1].astype("datetime64[Y]") == np.datetime64("2010", "Y")
    # Hourly temperatures in degrees Fahrenheit.
    assert np.all(np.isfinite(values))
    assert 20 < values.min() < 45 and 65 < values.max() < 105
    assert 45 < values.mean() < 60


def test_seattle_rejects_unknown_freq():
    with pytest.raises(ValueError, match='freq must be "daily" or "hourly"'):
        seattle_temperature("weekly")


# Windows and split -----------------------------------------------------------


@pytest.mark.parametrize("T, horizon", [(2, 1), (5, 1), (4, 3)])
def test_make_windows_matches_naive_loop(T, horizon):
    series = np.random.default_rng(0).standard_normal(23)
    x, y = make_windows(series, T, horizon=horizon)
    expected_x, expected_y = [], []
    for start in range(len(series)):
        target = start + T + horizon - 1
        if target >= len(series):
            break
        expected_x.append(series[start : start + T])
        expected_y.append(series[target])
    assert x.shape == (len(expected_x), T, 1) and y.shape == (len(expected_y), 1)
    np.testing.assert_array_equal(x[:, :, 0], np.array(expected_x))
    np.testing.assert_array_equal(y[:, 0], np.array(expected_y))


def test_make_windows_shortest_series_gives_one_window():
    x, y = make_windows([1.0, 2.0, 3.0, 4.0], 3, horizon=1)
    np.testing.assert_array_equal(x[:, :, 0], [[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(y, [[4.0]])


@pytest.mark.parametrize(
    "series, T, horizon, match",
    [
        (np.arange(10.0), 1, 1, r"T \(window length\) must be an integer >= 2"),
        (np.arange(10.0), 3.0, 1, r"T \(window length\) must be an integer >= 2"),
        (np.arange(10.0), 3, 0, "horizon must be a positive integer"),
        (np.arange(10.0), 8, 3, "too short"),
        (np.arange(10.0), 10, 1, "too short"),
        (np.zeros((5, 2)), 2, 1, "one-dimensional"),
    ],
)
def test_make_windows_rejects_bad_arguments(series, T, horizon, match):
    with pytest.raises(ValueError, match=match):
        make_windows(series, T, horizon=horizon)


def test_train_val_split_keeps_time_order_and_sizes():
    x, y = make_windows(np.arange(30.0), 5)  # 25 windows
    x_train, y_train, x_val, y_val = train_val_split(x, y, val_fraction=0.2)
    assert len(x_train) == len(y_train) == 20
    assert len(x_val) == len(y_val) == 5
    np.testing.assert_array_equal(np.concatenate([x_train, x_val]), x)
    np.testing.assert_array_equal(np.concatenate([y_train, y_val]), y)
    assert y_train.max() < y_val.min()


def test_train_val_split_rounds_validation_size():
    x = np.arange(10)
    _, _, x_val, _ = train_val_split(x, x, val_fraction=0.33)
    assert len(x_val) == 3


@pytest.mark.parametrize("val_fraction", [0.0, 1.0, -0.2, 1.5])
def test_train_val_split_rejects_fraction_outside_unit_interval(val_fraction):
    x = np.arange(10)
    with pytest.raises(ValueError, match="val_fraction must be between 0 and 1"):
        train_val_split(x, x, val_fraction=val_fraction)


def test_train_val_split_rejects_mismatched_or_too_few_windows():
    with pytest.raises(ValueError, match="same length"):
        train_val_split(np.arange(10), np.arange(9))
    with pytest.raises(ValueError, match="cannot split 3 windows"):
        train_val_split(np.arange(3), np.arange(3), val_fraction=0.1)


# Dates, human-readable to ISO ----------------------------------------------------

ALL_DAYS = [datetime.date(1950, 1, 1) + datetime.timedelta(days=i) for i in range(36525)]

# Month and weekday names written out here, not taken from babel, so the checks below are independent.
EN_MONTHS = "January February March April May June July August September October November December".split()
EN_MONTHS_ABBR = [month[:3] for month in EN_MONTHS]
EN_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
EN_DAYS_ABBR = [day[:3] for day in EN_DAYS]
FR_MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
FR_MONTHS_ABBR = "janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc.".split()
FR_DAYS = "lundi mardi mercredi jeudi vendredi samedi dimanche".split()
DE_MONTHS = "Januar Februar März April Mai Juni Juli August September Oktober November Dezember".split()
DE_DAYS = "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag".split()
ORDINAL_SUFFIXES = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}  # "th" otherwise

D, DD = r"(?P<d>[1-9]\d?)", r"(?P<d>\d\d)"  # day without / with a leading zero
M, MM = r"(?P<m>[1-9]\d?)", r"(?P<m>\d\d)"
Y, YY = r"(?P<y>\d{4})", r"(?P<y>\d\d)"
NAME = r"(?P<m>[^\W\d]+\.?)"
WEEKDAY = r"(?P<w>[^\W\d]+\.?)"

# name: (regular expression, month names or None for numbers, weekday names or None, strptime format or None)
DATE_CHECKS = {
    "en_full": (rf"{WEEKDAY}, {NAME} {D}, {Y}", EN_MONTHS, EN_DAYS, None),
    "en_long": (rf"{NAME} {D}, {Y}", EN_MONTHS, None, None),
    "en_medium": (rf"{NAME} {D}, {Y}", EN_MONTHS_ABBR, None, None),
    "en_short": (rf"{M}/{D}/{YY}", None, None, "%m/%d/%y"),
    "en_abbreviated": (rf"{WEEKDAY} {D} {NAME} {YY}", EN_MONTHS_ABBR, EN_DAYS_ABBR, None),
    "en_lower": (rf"{D} {NAME} {Y}", [month.lower() for month in EN_MONTHS], None, None),
    "en_ordinal": (rf"{NAME} {D}(?P<suffix>st|nd|rd|th) {Y}", [month.lower() for month in EN_MONTHS], None, None),
    "fr_full": (rf"{WEEKDAY} {D} {NAME} {Y}", FR_MONTHS, FR_DAYS, None),
    "fr_long": (rf"{D} {NAME} {Y}", FR_MONTHS, None, None),
    "fr_medium": (rf"{D} {NAME} {Y}", FR_MONTHS_ABBR, None, None),
    "fr_short": (rf"{DD}/{MM}/{Y}", None, None, "%d/%m/%Y"),
    "de_full": (rf"{WEEKDAY}, {D}\. {NAME} {Y}", DE_MONTHS, DE_DAYS, None),
    "de_long": (rf"{D}\. {NAME} {Y}", DE_MONTHS, None, None),
    "de_medium": (rf"{DD}\.{MM}\.{Y}", None, None, "%d.%m.%Y"),
    "de_short": (rf"{DD}\.{MM}\.{YY}", None, None, "%d.%m.%y"),
    "de_compact": (rf"{D}\.{M}\.{YY}", None, None, "%d.%m.%y"),
}


def read_date(text, name):
    """Read a date back from its text with DATE_CHECKS[name], independently of rnnlab.data."""
    pattern, months, weekdays, strptime_format = DATE_CHECKS[name]
    match = re.fullmatch(pattern, text)
    assert match, f"{text!r} does not look like {name}"
    year = int(match["y"])
    if len(match["y"]) == 2:
        year += 1900 if year >= 50 else 2000
    month = months.index(match["m"]) + 1 if months else int(match["m"])
    date = datetime.date(year, month, int(match["d"]))
    if weekdays:
        assert match["w"] == weekdays[date.weekday()], f"{text!r}: wrong weekday"
    if "suffix" in match.groupdict():
        assert match["suffix"] == ORDINAL_SUFFIXES.get(date.day, "th"), f"{text!r}: wrong ordinal"
    if strptime_format:
        parsed = datetime.datetime.strptime(text, strptime_format).date()
        if "%y" in strptime_format and parsed.year >= 2050:  # strptime reads 50..68 as 2050..2068
            parsed = parsed.replace(year=parsed.year - 100)
        assert parsed == date
    return date


@pytest.fixture(scope="module")
def all_date_texts():
    """name -> the texts of all 36,525 days from 1950-01-01 to 2049-12-31 in that format."""
    return {name: [human_date(day, name) for day in ALL_DAYS] for name in DATE_FORMATS}


def test_date_formats_cover_three_locales_and_show_an_example():
    assert 12 <= len(DATE_FORMATS) <= 16
    assert set(DATE_CHECKS) == set(DATE_FORMATS)
    assert {name.split("_")[0] for name in DATE_FORMATS} == {"en", "fr", "de"}
    for name, description in DATE_FORMATS.items():
        assert description.endswith(repr(human_date("2003-02-01", name)))


def test_human_date_examples():
    day = datetime.date(2003, 2, 1)
    assert human_date(day, "en_full") == "Saturday, February 1, 2003"
    assert human_date(day, "en_short") == "2/1/03"
    assert human_date(day, "en_ordinal") == "february 1st 2003"
    assert human_date(day, "fr_medium") == "1 févr. 2003"
    assert human_date(day, "de_compact") == "1.2.03"
    assert human_date("1999-12-31", "de_full") == "Freitag, 31. Dezember 1999"
    assert human_date(np.datetime64("2049-12-31"), "de_short") == "31.12.49"
    assert human_date(datetime.datetime(1950, 1, 1, 12, 30), "fr_full") == "dimanche 1 janvier 1950"


def test_human_date_rejects_unknown_format_and_dates_out_of_range():
    with pytest.raises(ValueError, match="unknown date format"):
        human_date("2003-02-01", "xx_full")
    for day in ["1949-12-31", "2050-01-01", datetime.date(1949, 12, 31), datetime.date(2050, 1, 1)]:
        with pytest.raises(ValueError, match="between 1950-01-01 and 2049-12-31"):
            human_date(day, "en_full")


def test_human_date_writes_what_babel_format_date_writes():
    from babel.dates import format_date, get_date_format

    # Every day of a leap year holds every month, weekday and day number; add the range's ends.
    days = ALL_DAYS[18262:18628] + ALL_DAYS[:3] + ALL_DAYS[-3:] + ALL_DAYS[::97]
    for name, (locale, pattern, how) in rnnlab.data._DATE_SPECS.items():
        if pattern is None:
            continue
        named = re.search(r'format="(\w+)"', how)
        if named:  # the description names one of babel's patterns for the locale: check it is this one
            assert get_date_format(named[1], locale=locale).pattern == pattern
        for day in days:
            assert human_date(day, name) == format_date(day, format=pattern, locale=locale), (name, day)


def test_every_date_text_reads_back_to_its_date():
    for name in DATE_FORMATS:
        for day in ALL_DAYS[::11] + ALL_DAYS[-40:]:
            assert read_date(human_date(day, name), name) == day


def test_no_text_is_written_for_two_different_dates(all_date_texts):
    iso_of = {}
    for name, texts in all_date_texts.items():
        for day, text in zip(ALL_DAYS, texts):
            first = iso_of.setdefault(text, (day, name))
            assert first[0] == day, f"{text!r} is {first[0]} in {first[1]} and {day} in {name}"
    assert len(iso_of) > 300_000


def test_date_texts_are_6_to_30_characters(all_date_texts):
    lengths = np.array([len(text) for texts in all_date_texts.values() for text in texts])
    assert lengths.min() == 6 and lengths.max() == 30
    assert set(range(10, 31)) <= set(lengths.tolist())


def test_date_vocabularies_cover_every_text_of_every_format(all_date_texts):
    source_vocab, target_vocab = date_vocabularies()
    characters = set("".join(text for texts in all_date_texts.values() for text in texts))
    assert set(source_vocab.tokens[3:]) == characters
    assert (source_vocab.pad_id, source_vocab.start_id, source_vocab.end_id) == (0, 1, 2)
    assert {"é", "û", "ä", ".", ",", "/", " "} <= characters
    assert target_vocab.tokens[3:] == list("-0123456789")
    bigger, _ = date_vocabularies([("Æ 3", "2003-02-01")])
    assert set(bigger.tokens[3:]) == characters | {"Æ"}


def test_date_pairs_same_seed_same_pairs():
    assert date_pairs(50, seed=3) == date_pairs(50, seed=3)
    assert date_pairs(50, seed=3) != date_pairs(50, seed=4)
    assert date_pairs(50, seed=3, split="test") == date_pairs(50, seed=3, split="test")


def test_date_pairs_texts_are_their_iso_dates():
    for split in ["train", "test", "all"]:
        for text, iso in date_pairs(300, seed=1, split=split):
            assert re.fullmatch(r"\d{4}-\d\d-\d\d", iso)
            assert text in {human_date(iso, name) for name in DATE_FORMATS}


def test_date_pairs_draw_every_format_about_equally():
    pairs = date_pairs(4000, seed=0, split="all")
    counts = dict.fromkeys(DATE_FORMATS, 0)
    for text, iso in pairs:
        matching = [name for name in DATE_FORMATS if human_date(iso, name) == text]
        counts[matching[0]] += 1  # formats that write this date alike share the count of the first
    assert all(count > 150 for count in counts.values()), counts


def test_date_pairs_formats_change_the_writing_not_the_days():
    everything = date_pairs(200, seed=5)
    german = date_pairs(200, seed=5, formats=["de_short"])
    assert [iso for _, iso in everything] == [iso for _, iso in german]
    assert all(text == human_date(iso, "de_short") for text, iso in german)
    assert date_pairs(20, seed=5, formats="fr_full") == date_pairs(20, seed=5, formats=["fr_full"])


def test_test_days_are_a_fixed_tenth_never_seen_in_training():
    train, test = rnnlab.data._calendar_days("train"), rnnlab.data._calendar_days("test")
    assert len(test) == 3652 and len(train) + len(test) == 36525
    assert len(np.intersect1d(train, test)) == 0
    np.testing.assert_array_equal(np.union1d(train, test), rnnlab.data._calendar_days("all"))
    test_days = set(str(day) for day in test)
    for seed in range(3):
        assert all(iso in test_days for _, iso in date_pairs(500, seed=seed, split="test"))
        assert not any(iso in test_days for _, iso in date_pairs(500, seed=seed, split="train"))
    # Spread over the whole century, not one block of it.
    years = test.astype("datetime64[Y]").astype(int) + 1970
    assert np.unique(years).size == 100


def test_date_pairs_rejects_bad_arguments():
    with pytest.raises(ValueError, match="positive integer"):
        date_pairs(0)
    with pytest.raises(ValueError, match="split must be"):
        date_pairs(5, split="validation")
    with pytest.raises(ValueError, match="formats must be"):
        date_pairs(5, formats=["en_full", "klingon"])
    with pytest.raises(ValueError, match="formats must be"):
        date_pairs(5, formats=[])


def test_encode_dates_shapes_padding_and_teacher_forcing():
    source_vocab, target_vocab = date_vocabularies()
    pairs = date_pairs(64, seed=2)
    batch = encode_dates(pairs, source_vocab, target_vocab)
    N, T_in = batch["x"].shape
    longest = max(len(text) for text, _ in pairs)
    assert (N, T_in) == (64, longest)
    assert batch["y_in"].shape == batch["y_out"].shape == batch["y_mask"].shape == (64, 11)
    for key in ["x", "x_lengths", "y_in", "y_out"]:
        assert batch[key].dtype == np.int64
    assert batch["y_mask"].dtype == bool and batch["y_mask"].all()
    assert batch["texts"] == [text for text, _ in pairs] and batch["isos"] == [iso for _, iso in pairs]
    for n, (text, iso) in enumerate(pairs):
        L = len(text)
        assert batch["x_lengths"][n] == L
        assert list(batch["x"][n, :L]) == source_vocab.encode(text)
        np.testing.assert_array_equal(batch["x"][n, L:], source_vocab.pad_id)
        assert source_vocab.decode(batch["x"][n]) == text
        assert list(batch["y_in"][n]) == [target_vocab.start_id] + target_vocab.encode(iso)
        assert list(batch["y_out"][n]) == target_vocab.encode(iso) + [target_vocab.end_id]
        assert target_vocab.decode(batch["y_out"][n]) == iso


def test_encode_dates_pads_shorter_targets_and_masks_them():
    source_vocab, target_vocab = date_vocabularies()
    batch = encode_dates([("1.2.03", "2003-02-01"), ("2/1/03", "3-2-1")], source_vocab, target_vocab)
    assert batch["y_in"].shape == (2, 11)
    np.testing.assert_array_equal(batch["y_mask"][1], np.arange(11) < 6)
    assert list(batch["y_out"][1, :6]) == target_vocab.encode("3-2-1") + [target_vocab.end_id]
    np.testing.assert_array_equal(batch["y_out"][1, 6:], target_vocab.pad_id)
    np.testing.assert_array_equal(batch["y_in"][1, 6:], target_vocab.pad_id)


def test_encode_dates_rejects_empty_pairs_and_unknown_characters():
    source_vocab, target_vocab = date_vocabularies()
    with pytest.raises(ValueError, match="at least one pair"):
        encode_dates([], source_vocab, target_vocab)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        encode_dates([("3 mai 1999 !", "1999-05-03")], source_vocab, target_vocab)
