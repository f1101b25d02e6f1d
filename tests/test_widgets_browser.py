"""The vanishing-gradient explorer in a real browser (Debian's Chromium, driven by Playwright):
as the standalone app `make explorer` serves with Voila, and inside the release notebook in JupyterLab.

Each test moves the explorer's gain slider and checks that the kernel computed the new setting
(the line under the controls quotes the gain the slider shows), that the picture changed and
that no error appeared; then it selects the LSTM and the tanh RNN and checks that every label is
shown in full, apart from its control. Screenshots land in tests/output/.
"""

import re
import time

import pytest
from conftest import CHROMIUM, COURSE, OUTPUT, open_and_run, require, require_module, running_lab, running_make

sync_api = require_module("playwright.sync_api", "playwright is a test extra: make test installs it")
RELEASE_NOTEBOOK = "02_vanishing_gradients/02_vanishing_gradients.ipynb"
ERRORS = ("Traceback", "Error displaying widget", "model not found", "The explorer failed")
# Every visible label of the explorer: its text, whether the browser cut it (an ellipsis), the space
# between it and its control, and how far its control reaches past the right edge of the picture.
LABELS = """explorer => {
    const picture = explorer.querySelector('img.widget-image').getBoundingClientRect();
    return [...explorer.querySelectorAll('.widget-label')].filter(label => label.offsetParent).map(label => ({
        text: label.textContent,
        cut: label.scrollWidth > label.clientWidth,
        gap: label.nextElementSibling.getBoundingClientRect().left - label.getBoundingClientRect().right,
        beyond: label.parentElement.lastElementChild.getBoundingClientRect().right - picture.right,
    }));
}"""


def running_voila():
    """Start the explorer app with `make explorer`, as the README says; yield its URL."""
    # voila.js is served once Voila listens, before any kernel starts
    return running_make("explorer", "/voila/static/voila.js", VOILA_IP="127.0.0.1", VOILA_PORT="{port}")


def move_gain_slider(page, root, screenshot):
    """Drag the explorer's gain slider under `root`; return its new value once the picture has changed."""
    explorer_image = page.locator(f"{root} img.widget-image").first
    explorer_image.wait_for(timeout=120_000)
    slider = page.locator(f"{root} .widget-hslider", has=page.locator(".widget-label", has_text=re.compile("^gain$")))
    slider.scroll_into_view_if_needed()
    summary = page.locator(f"{root} .widget-html", has_text="Updated in").first
    summary.wait_for(timeout=60_000)
    before = explorer_image.get_attribute("src")
    page.screenshot(path=str(OUTPUT / f"{screenshot}_before.png"))
    handle = slider.locator(".noUi-handle")
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 60, box["y"] + box["height"] / 2, steps=10)
    page.mouse.up()
    gain = float(slider.locator(".widget-readout").inner_text())
    assert gain != 1.0, "the slider did not move"
    # The kernel computed the new setting: its summary quotes the gain the slider shows.
    page.locator(f"{root} .widget-html", has_text=f"Gain {gain:.2f}").first.wait_for(timeout=30_000)
    deadline = time.monotonic() + 30
    while explorer_image.get_attribute("src") == before and time.monotonic() < deadline:
        time.sleep(0.2)
    page.screenshot(path=str(OUTPUT / f"{screenshot}_after.png"))
    assert explorer_image.get_attribute("src") != before, "the picture did not change after the slider moved"
    return gain


def check_labels_read_in_full(page, root, screenshot):
    """Select the LSTM, then the tanh RNN: each time every label is whole and apart from its control, the
    controls are no wider than the picture (a row too wide for the page squeezes its controls), and the
    note under the gate bias slider, whole too, says which gate it sets or why it is greyed out."""
    explorer = page.locator(f"{root} .widget-vbox", has=page.locator("img.widget-image")).last
    for cell, name, note in (("lstm", "LSTM", "the LSTM's forget gate"), ("tanh", "tanh RNN", "a tanh RNN has no gates")):
        explorer.locator(".widget-toggle-button", has_text=re.compile(f"^{cell}$")).click()
        shown_note = explorer.locator(".widget-html-content", has_text=note)
        shown_note.wait_for(timeout=30_000)
        explorer.locator(".widget-html", has_text=f"{name}, H =").wait_for(timeout=30_000)
        explorer.screenshot(path=str(OUTPUT / f"{screenshot}_{cell}.png"))
        labels = explorer.evaluate(LABELS)
        assert len(labels) == 10, labels  # the preset menu and the nine settings
        assert not [label for label in labels if label["cut"] or label["gap"] < 4 or label["beyond"] > 0], (cell, labels)
        assert shown_note.evaluate("note => note.scrollWidth <= note.clientWidth && note.scrollHeight <= note.clientHeight")


def test_voila_app_redraws_when_the_gain_slider_moves(page, output_dir):
    with running_voila() as url:
        page.goto(url + "/")
        try:
            move_gain_slider(page, "body", "explorer_voila")
            check_labels_read_in_full(page, "body", "explorer_voila")
        finally:
            page.screenshot(path=str(output_dir / "explorer_voila_last.png"))
        text = page.locator("body").inner_text()
        assert not [error for error in ERRORS if error in text], text[-2000:]


@pytest.mark.skipif(not (COURSE / RELEASE_NOTEBOOK).exists(), reason=f"course/{RELEASE_NOTEBOOK} is not released yet")
def test_release_notebook_explorer_redraws_in_jupyterlab(page, tmp_path, output_dir):
    with running_lab(tmp_path / "work") as base:  # make lab copies the release there
        open_and_run(page, base, RELEASE_NOTEBOOK)
        try:
            move_gain_slider(page, ".jp-Notebook", "explorer_lab")
            check_labels_read_in_full(page, ".jp-Notebook", "explorer_lab")
        finally:
            page.screenshot(path=str(output_dir / "explorer_lab_last.png"))
        text = page.locator(".jp-Notebook").inner_text()
        assert not [error for error in ERRORS[1:] if error in text]
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_text_contents()
        assert all("NotImplementedError" in error for error in errors), errors
        assert page.locator(".jp-Notebook img.widget-image").count() == 1, "one picture, no duplicate figure"
