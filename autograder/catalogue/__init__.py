"""The catalogues: one module per graded notebook (``rnn.py``, ``lstm.py``, ...), each defining ``CATALOGUE``,
its worked examples and known mistakes, in the vocabulary defined here. ``autograder.examples`` computes from them
the numbers the test cells compare against (``make release``)."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Mutant:
    """A common mistake in ``function``, made in code: the reference solution with ``old`` replaced by ``new``.
    (What the learner then sees, its wrong output with the hint, is an :class:`rnnlab.testing.Mistake`.)"""

    function: str
    name: str
    hint: str
    old: str
    new: str
    count: int = 1  # how many times ``old`` occurs in the solution cell (all are replaced)


@dataclass(frozen=True)
class Example:
    """
    A worked example. ``inputs(rng)`` makes the input arrays; ``run(ns, **inputs)``
    calls the notebook's functions (found in the namespace ``ns``) and returns a
    dict of named outputs, exactly as the test cell does.
    """

    name: str
    function: str
    inputs: object
    run: object
    seed: int = 0
    revisit: str = ""  # the idea to revisit when the output is wrong in a way no known mistake explains
    # How much the example's own computation can magnify rounding: another CPU or BLAS build rounds
    # differently, and, say, the states of an exploding RNN carry that difference forward as its gradient grows.
    rounding_growth: float = 1.0
    # How the test cell calls the function, for rnnlab.earlier.call_as_tested (written into reference.json). None:
    # a backward pass gets its upstream gradients (the inputs named d...) and the cache of its forward pass, any
    # other function its inputs by name.
    call: dict = None


@dataclass
class Catalogue:
    notebook: str  # path under solutions/, e.g. "01_rnn/01_rnn.ipynb"
    depends: dict  # function -> functions whose mistakes also break it
    examples: list
    mistakes: list = field(default_factory=list)  # of Mutant: the common mistakes in this notebook's functions
    probes: dict = field(default_factory=dict)  # test cell grade_id -> its own re-checks (autograder.recheck)
    # earlier assignments whose notebooks this one reads (rnnlab.earlier): the grader gives the kernel the same
    # learner's submissions of them, in folders next to this one
    earlier: tuple = ()

    def uses(self, function):
        """``function`` and everything it depends on, transitively."""
        seen, todo = set(), [function]
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo += self.depends.get(name, [])
        return seen
