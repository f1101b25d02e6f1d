"""Notebook 08's attention view in a real browser (Debian's Chromium, driven by Playwright) inside JupyterLab, with
the fake explain of tests/attention_fake.py (no model): a notebook that shows the view is run with Run All, then the test
presses "next step", moves the step slider with the keyboard, picks another example and types a text with a character
the fake does not know, and checks what the browser shows each time. Screenshots: tests/output/attention_view*.png."""

import re

import nbformat
from conftest import LAB_TOKEN, REPO, require_module, running_lab

from attention_fake import EXAMPLES, OTHER, PEAK, peak

sync_api = require_module("playwright.sync_api", "playwright is a test extra: make test installs it")
NOTEBOOK = "attention_view.ipynb"
VIEW = ".rnnlab-attention-view"
FIRST, SECOND = list(EXAMPLES)[:2]


def write_notebook(work):
    """The notebook the test runs, in the workspace make lab serves: the fake explain, then the view, as 08 shows it."""
    work.mkdir(parents=True)
    cells = [nbformat.v4.new_code_cell(f"import sys\nsys.path.insert(0, {str(REPO / 'tests')!r})\n"
                                       "from attention_fake import EXAMPLES, fake_explain"),
             nbformat.v4.new_code_cell("from rnnlab.attention_view import AttentionView\n\n"
                                       "view = AttentionView(fake_explain, list(EXAMPLES), width=3)\ndisplay(view)")]
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=kernel), work / NOTEBOOK)


def run_notebook(page, base):
    """Open the notebook alone and Run All. (conftest.open_and_run counts the cells of a notebook of course/, which
    this one is not; with the notebook's path as an argument it could open this one too.)"""
    page.goto(f"{base}/lab/tree/{NOTEBOOK}?reset&token={LAB_TOKEN}")
    page.locator(".jp-StatusBar-Widget", has_text="Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()
    page.locator(f"{VIEW} .translation .current").wait_for(timeout=60_000)


def shown(page):
    """What the view shows: the highlighted output character, the framed (strongest) input cell's index, its printed
    weight and its background, the whole translation, the step slider's readout and the message line."""
    return page.locator(VIEW).evaluate("""view => {
        const cells = [...view.querySelectorAll('td.attention-cell')];
        const strongest = cells.findIndex(cell => cell.classList.contains('strongest'));
        const message = view.querySelector('.widget-html-content');
        return {
            current: view.querySelector('.translation .current')?.textContent,
            translation: view.querySelector('.translation')?.textContent,
            strongest: strongest,
            weight: strongest >= 0 ? cells[strongest].querySelector('.weight').textContent : null,
            background: strongest >= 0 ? getComputedStyle(cells[strongest]).backgroundColor : null,
            readout: view.querySelector('.widget-readout').textContent.trim(),
            visible: !!view.querySelector('table.reading')?.offsetParent,
            text: view.innerText,
        };
    }""")


def wait_for(page, predicate, what, timeout=20_000):
    """Poll shown(page) until predicate holds; return it (fail naming what did not happen)."""
    deadline = page.evaluate("Date.now()") + timeout
    while True:
        state = shown(page)
        if predicate(state):
            return state
        if page.evaluate("Date.now()") > deadline:
            raise AssertionError(f"{what}; the view shows {state}")
        page.wait_for_timeout(100)


def test_attention_view_in_jupyterlab(page, tmp_path, output_dir):
    write_notebook(tmp_path / "work")
    with running_lab(tmp_path / "work") as base:
        run_notebook(page, base)
        view = page.locator(VIEW)
        try:
            state = shown(page)
            assert (state["current"], state["strongest"], state["weight"]) == ("1", peak(0, FIRST), ".73"), state
            assert state["translation"] == EXAMPLES[FIRST] + "</s>" and state["readout"] == "0"
            assert "Step 0 writes '1' and reads" in state["text"] and "log-probability" in state["text"]
            dark = [int(c) for c in re.findall(r"\d+", state["background"])]
            assert max(dark[:3]) < 160, state["background"]  # the peaked cell is shaded dark (PEAK = .73)

            # next step: the kernel moves the slider and the highlight
            view.locator("button", has_text="\u25b6").click()
            state = wait_for(page, lambda s: s["readout"] == "1" and s["strongest"] == peak(1, FIRST),
                             "the next-step button did not move to step 1")
            assert state["current"] == "9" and "Step 1 writes '9'" in state["text"]

            # the slider itself, with the keyboard, as a learner can too
            view.locator(".widget-hslider", has_text="decoder step").locator(".noUi-handle").focus()
            for _ in range(3):
                page.keyboard.press("ArrowRight")
            state = wait_for(page, lambda s: s["readout"] == "4" and s["current"] == "-",
                             "three presses of the right arrow on the step slider did not move to step 4")
            assert state["strongest"] == peak(4, FIRST) and state["weight"] == ".73"

            # another example: another translation, at the same step
            view.locator("select").select_option(label=SECOND)
            state = wait_for(page, lambda s: s["translation"] == EXAMPLES[SECOND] + "</s>",
                             f"choosing {SECOND!r} did not show its translation")
            assert (state["readout"], state["current"], state["strongest"]) == ("4", "-", peak(4, SECOND)), state
            assert f"{PEAK:.2f}".lstrip("0") == state["weight"]
            view.screenshot(path=str(output_dir / "attention_view.png"))

            # a typed text with a character the model does not know: the message, no pictures, no traceback
            box = view.locator("input[type='text']")
            box.fill("3 may 1999?")
            box.press("Enter")
            state = wait_for(page, lambda s: "characters not in the vocabulary: ['?']" in s["text"],
                             "the error of a text with an unknown character was not shown")
            assert not state["visible"]
            view.screenshot(path=str(output_dir / "attention_view_error.png"))

            # and a typed text it knows
            box.fill("3 may 1999")
            box.press("Enter")
            state = wait_for(page, lambda s: s["visible"] and s["translation"] == OTHER + "</s>",
                             "a typed text was not translated")
            assert view.locator("select").input_value() == "(your own text)"
        finally:
            page.screenshot(path=str(output_dir / "attention_view_last.png"))
        notebook = page.locator(".jp-Notebook").inner_text()
        assert "Traceback" not in notebook and "Error displaying widget" not in notebook
