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

