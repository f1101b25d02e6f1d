"""
How `grade` and `feedback` tell the instructor where they are.

On a terminal: one tqdm bar (items done / total, rate, time left, failures so far), with a
line above it for each item that had a problem. Elsewhere (CI logs, ``> grade.log``): plain
lines, one per item, each with the count, the rate and the time left, which read well in a
file and never carry a terminal's control characters. The items are what the command counts:
``grade`` counts notebooks, ``feedback`` pages.
"""

import sys
import time

from tqdm import tqdm


class Progress:
    """
    Counts items (``what``: "notebooks", "pages") as they finish. ``add(n)`` makes the total larger (the
    grader learns it one assignment at a time), ``step(line, failed=False)`` counts one done; ``stage(text)`` says
    what is happening before the first one is done ("preparing 01_rnn").
    """

    def __init__(self, what="notebooks", stream=None, interactive=None):
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.what, self.total, self.done, self.failed = what, 0, 0, 0
        self.started = time.perf_counter()
        self.bar = tqdm(total=0, unit=" " + what.rstrip("s"), file=self.stream, dynamic_ncols=True,
                        bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                   "[{elapsed}<{remaining}, {rate_fmt}]{postfix}") if self.interactive else None

    def add(self, count):
        self.total += count
        if self.bar is not None:
            self.bar.total = self.total
            self.bar.refresh()

    def stage(self, text):
        if self.bar is not None:
            self.bar.set_description_str(text)
        else:
            self._line(text)

    def step(self, line, failed=False):
        self.done += 1
        self.failed += bool(failed)
        if self.bar is not None:
            if failed:
                self.bar.write(line, file=self.stream)
            self.bar.set_description_str(self.what)
            self.bar.set_postfix_str(f"{self.failed} with problems" if self.failed else "", refresh=False)
            self.bar.update(1)
        else:
            self._line(f"[{self.done}/{self.total}] {line}{self._pace()}")

    def close(self):
        if self.bar is not None:
            self.bar.close()

    def _pace(self):
        elapsed = time.perf_counter() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        problems = f", {self.failed} with problems" if self.failed else ""
        return f"  ({rate:.2f} {self.what}/s, about {left:.0f} s left{problems})"

    def _line(self, text):
        print(text, file=self.stream, flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
