"""autograder.progress: a tqdm bar on a terminal, plain lines in a log."""

import io

from autograder.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_log_gets_one_plain_line_per_notebook_with_count_rate_and_time_left():
    log = io.StringIO()
    with Progress(stream=log) as progress:
        progress.stage("preparing 01_rnn")
        progress.add(3)
        progress.step("alice/01_rnn: 10/10")
        progress.step("bob/01_rnn: 0/10  (timeout)", failed=True)
    lines = log.getvalue().splitlines()
    assert lines[0] == "preparing 01_rnn"
    assert lines[1].startswith("[1/3] alice/01_rnn: 10/10  (") and "notebooks/s, about" in lines[1]
    assert lines[2].startswith("[2/3] bob/01_rnn") and lines[2].endswith("1 with problems)")
    assert "\r" not in log.getvalue() and "\x1b" not in log.getvalue()


def test_a_terminal_gets_a_bar_with_the_total_and_failures_and_a_line_per_problem():
    screen = Terminal()
    with Progress(stream=screen) as progress:
        progress.add(2)
        progress.add(2)  # the total grows as each assignment is prepared
        progress.step("alice/01_rnn: 10/10")
        progress.step("bob/01_rnn: 0/10  (kernel died)", failed=True)
        assert progress.bar.total == 4 and progress.bar.n == 2
    text = screen.getvalue()
    assert "2/4" in text and "1 with problems" in text and "\r" in text
    assert "bob/01_rnn: 0/10  (kernel died)\n" in text and "alice/01_rnn: 10/10" not in text
