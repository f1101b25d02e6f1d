"""The course in a real browser: Debian's Chromium, driven by Playwright, on a JupyterLab started by `make lab`.

Screenshots land in tests/output/ for people to look at.
"""

import shutil
import time
from pathlib import Path

import pytest
from conftest import COURSE, LAB_TOKEN, read_notebook, running_lab

CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOK = "00_setup/00_setup.ipynb"
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a test extra: make test installs it")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)"
)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def page():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1300, "height": 900})
        browser.close()


def _run_all_cells(page):
    """Run the code cells one by one, clicking into each and pressing Shift+Enter as a learner does.

    (JupyterLab drops queued cells after an error, and the release's test cells fail until solved.)
    """
    editors = page.locator(".jp-Notebook .jp-CodeCell .jp-InputArea-editor")
    for index in range(editors.count()):
        editors.nth(index).click()
        page.keyboard.press("Shift+Enter")
        page.wait_for_timeout(100)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')].every(p => !p.textContent.includes('*'))",
            timeout=60_000,
        )


def open_and_run(page, base, notebook):
    """Open a release notebook alone in JupyterLab (whatever an earlier session left open) and run its cells."""
    page.goto(f"{base}/lab/tree/{notebook}?reset&token={LAB_TOKEN}")
    code_cells = sum(c["cell_type"] == "code" for c in read_notebook(COURSE / notebook)["cells"])
    page.wait_for_function(f"() => document.querySelectorAll('.jp-Notebook .jp-CodeCell').length === {code_cells}",
                           timeout=60_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    _run_all_cells(page)


def test_setup_notebook_widget_redraws_when_the_slider_moves(page, tmp_path, output_dir):
    # A copy of the release, so that JupyterLab's autosave can never write outputs into course/.
    shutil.copytree(COURSE, tmp_path / "course")
    with running_lab(tmp_path / "course") as base:
        open_and_run(page, base, NOTEBOOK)
        slider = page.locator(".widget-slider .noUi-handle").first
        try:
            slider.wait_for(timeout=60_000)
        finally:
            page.screenshot(path=str(output_dir / "setup_after_run_all.png"))
        slider.scroll_into_view_if_needed()
        plot = page.locator(".widget-interact .jp-OutputArea img").first
        plot.wait_for(timeout=30_000)
        before = plot.get_attribute("src")
        page.screenshot(path=str(output_dir / "setup_widget_before.png"))
        box = slider.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + 200, box["y"] + box["height"] / 2, steps=10)
        page.mouse.up()
        page.wait_for_function("() => document.querySelector('.widget-readout').textContent.trim() !== '0.10'")
        deadline = time.monotonic() + 30
        while plot.get_attribute("src") == before and time.monotonic() < deadline:
            time.sleep(0.2)
        page.screenshot(path=str(output_dir / "setup_widget_after.png"))
        assert plot.get_attribute("src") != before, "the plot did not redraw after the slider moved"
        text = page.locator(".jp-Notebook").inner_text()
        assert "Error displaying widget" not in text and "model not found" not in text
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_text_contents()
        assert all("NotImplementedError" in error for error in errors), errors
