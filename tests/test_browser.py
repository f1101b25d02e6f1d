"""The course in a real browser: Debian's Chromium, driven by Playwright, on a JupyterLab started by `make lab`.

A learner's JupyterLab has no instructor tools and no pop-ups; Run All on every unsolved release reaches the
last cell; a failed check shows its message, not a traceback. Screenshots land in tests/output/.
"""

import json
import re
import time

import pytest
from conftest import COURSE, LAB_TOKEN, OUTPUT, notebooks, open_and_run, running_lab

# What a learner must not meet: nbgrader's instructor tools, the exchange they need, JupyterLab's news.
INSTRUCTOR_TOOLS = ["Formgrader", "Create Assignment", "Course List", "Assignment List", "Nbgrader"]
SERVER_LOG_ERRORS = ["ExchangeError", "Unwritable directory", "No nbgrader_config.py", "Traceback"]


def _server_log(base):
    return (OUTPUT / f"lab-{base.rsplit(':', 1)[1]}.log").read_text()


def test_learner_lab_has_no_instructor_tools_and_no_pop_up(page, tmp_path, output_dir):
    with running_lab(tmp_path / "work") as base:
        page.goto(f"{base}/lab?reset&token={LAB_TOKEN}")
        page.wait_for_selector(".jp-DirListing-item", timeout=60_000)
        page.wait_for_timeout(3000)  # pop-ups and toasts come a moment after the page
        page.screenshot(path=str(output_dir / "learner_lab.png"))
        menus = page.locator(".lm-MenuBar-item").all_text_contents()
        assert "Run" in menus and not [m for m in menus if m in INSTRUCTOR_TOOLS], menus
        sidebar = page.locator(".jp-SideBar .lm-TabBar-tab").evaluate_all(
            "tabs => tabs.map(t => t.getAttribute('title') || t.textContent)")
        assert not [tab for tab in sidebar if any(tool.lower() in (tab or "").lower() for tool in INSTRUCTOR_TOOLS)]
        assert page.locator(".jp-Dialog").count() == 0
        assert page.locator(".Toastify__toast").count() == 0, page.locator(".Toastify__toast").all_text_contents()
        # the commands are gone too, not just their menu
        page.keyboard.press("Control+Shift+c")
        page.keyboard.type("formgrader")
        page.wait_for_timeout(500)
        assert page.locator(".lm-CommandPalette-item:visible").count() == 0
        log = _server_log(base)
    assert not [error for error in SERVER_LOG_ERRORS if error in log], log[-3000:]


def test_learner_lab_validates_without_an_exchange(tmp_path):
    """nbgrader's Validate button (its server extension) still works for a learner: it runs the notebook."""
    with running_lab(tmp_path / "work") as base:
        import urllib.parse
        import urllib.request

        request = urllib.request.Request(f"{base}/assignments/validate?token={LAB_TOKEN}", method="POST",
                                         data=urllib.parse.urlencode({"path": "00_setup/00_setup.ipynb"}).encode())
        with urllib.request.urlopen(request, timeout=120) as response:
            result = json.loads(response.read())
    assert result["success"], result
    assert "NotImplementedError" in json.dumps(result["value"])  # the unsolved release fails its tests


@pytest.mark.parametrize("notebook", [str(p) for p in notebooks(COURSE)])
def test_run_all_on_an_unsolved_release_reaches_the_last_cell(page, tmp_path, output_dir, notebook):
    with running_lab(tmp_path / "work") as base:
        open_and_run(page, base, notebook)
        page.screenshot(path=str(output_dir / f"run_all_{notebook.split('/')[0]}.png"), full_page=True)
        prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_text_contents()
        assert re.fullmatch(r"\[\d+\]:", prompts[-1].strip()), f"the last cell did not run: {prompts[-3:]}"
        assert all(re.fullmatch(r"\[\d+\]:", p.strip()) for p in prompts), prompts
        text = page.locator(".jp-Notebook").inner_text()
        assert "Error displaying widget" not in text
        assert page.locator(".jp-Dialog").count() == 0


MISTAKE = '''def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh)
    return next_h, (x, prev_h, Wx, Wh, next_h)
'''


def test_a_failed_check_shows_the_message_first_and_no_frame_of_rnnlab(page, tmp_path, output_dir):
    """A learner who forgot the bias sees the named mistake and its hint, without a traceback through rnnlab/."""
    work = tmp_path / "work"
    with running_lab(work) as base:
        path = work / "01_rnn" / "01_rnn.ipynb"
        nb = json.loads(path.read_text())
        cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "rnn_step_forward")
        cell["source"] = MISTAKE
        path.write_text(json.dumps(nb))
        open_and_run(page, base, "01_rnn/01_rnn.ipynb")
        failure = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                               has_text="forgot the bias").first
        failure.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        page.screenshot(path=str(output_dir / "failed_check_page.png"))
        failure.screenshot(path=str(output_dir / "failed_check_message.png"))
        shown = failure.inner_text()
    assert shown.startswith("Test failed:"), shown
    assert "Hint:" in shown and "rnnlab/" not in shown and "Traceback" not in shown and "frame" not in shown
    assert len(shown.strip().splitlines()) <= 5, shown


def test_setup_notebook_widget_redraws_when_the_slider_moves(page, tmp_path, output_dir):
    with running_lab(tmp_path / "work") as base:
        open_and_run(page, base, "00_setup/00_setup.ipynb")
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
