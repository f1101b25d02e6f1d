"""Tests for rnnlab.data: seeded synthetic tasks, the offline real data sets, and their helpers."""

import doctest
import socket

import numpy as np
import pytest

import rnnlab.data
from rnnlab.data import (
    ADDING_MEAN_BASELINE_MSE,
    RECALL_MEAN_BASELINE_MSE,
    Vocabulary,
    adding_problem,
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
