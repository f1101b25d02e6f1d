"""Tests for rnnlab.attention_view, notebook 08's view of attention and the beam: driven from Python with a fake
explain (no model), checking the HTML and the picture it shows. tests/test_attention_view_browser.py runs the same
fake (tests/attention_fake.py) in JupyterLab."""

import html
import io
import re

import numpy as np
import pytest
from PIL import Image

from attention_fake import EXAMPLES, OTHER, PEAK, fake_explain, peak

from rnnlab.attention_view import CELL, LEFT, OWN_TEXT, TOP, AttentionView, map_size

class Counting:
    """fake_explain, counting its calls by (text, k)."""

    def __init__(self, explain=fake_explain):
        self.explain, self.calls = explain, []

    def __call__(self, text, k):
        self.calls.append((text, k))
        return self.explain(text, k)


# Reading the view's HTML ------------------------------------------------------------------------


def text_of(fragment):
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def current_char(view):
    """The character highlighted in the translation."""
    return text_of(re.search(r'<span class="current"[^>]*>(.*?)</span>', view.written.value).group(1))


def reading_cells(view):
    """The input cells: (character, printed weight, is it framed as the strongest) for each."""
    cells = re.findall(r'<td class="attention-cell( strongest)?".*?<div[^>]*>(.*?)</div><div class="weight"[^>]*>'
                       r'(.*?)</div></td>', view.reading.value)
    return [(text_of(char), weight, bool(strongest)) for strongest, char, weight in cells]


def beam_rows(view):
    """The beam table's rows: (rank, prefix, log-probability as printed)."""
    rows = re.findall(r'<tr class="hypothesis"><td[^>]*>(\d+)</td><td class="prefix"[^>]*>(.*?)</td>'
                      r'<td class="log-prob"[^>]*>(.*?)</td></tr>', view.beam.value)
    return [(int(rank), text_of(re.sub(r"<span.*?</span>", "", prefix)).strip(), log_prob) for rank, prefix, log_prob in rows]


def check_step(view, text, t, k):
    """The view shows step t of text at width k as fake_explain made it."""
    output = list(EXAMPLES.get(text, OTHER)) + ["</s>"]
    shown = " " if output[t] == " " else output[t]
    assert current_char(view) == shown
    assert f"Step {t} writes" in view.reading.value
    cells = reading_cells(view)
    assert "".join(char for char, _, _ in cells) == text.replace(" ", "\u2423")
    strongest = [i for i, (_, _, framed) in enumerate(cells) if framed]
    assert strongest == [peak(t, text)]
    assert cells[peak(t, text)][1] == ".73"
    iso = "".join(output[:-1])
    rows = beam_rows(view)
    assert len(rows) == k
    assert rows[0] == (1, iso[:t + 1], f"{-0.25 * (t + 1):.2f}")
    assert [prefix for _, prefix, _ in rows[1:]] == [iso[:t] + "xyzw"[j] for j in range(k - 1)]
    assert view.message.value == "" and view.shown.layout.display is None


# The tests ------------------------------------------------------------------------------------


@pytest.fixture
def counted():
    explain = Counting()
    return AttentionView(explain, list(EXAMPLES), width=3), explain


def test_starts_with_the_first_example_at_step_0(counted):
    view, explain = counted
    assert view.controls["example"].value == "tuesday, 3 may 1999" == view.text
    assert (view.step, view.width) == (0, 3)
    assert view.controls["step"].max == 10  # 10 characters and </s>
    check_step(view, "tuesday, 3 may 1999", 0, 3)
    assert explain.calls == [("tuesday, 3 may 1999", 3)]
    assert view.buttons["previous"].disabled and not view.buttons["next"].disabled


def test_the_step_slider_and_buttons_move_the_highlight_without_calling_explain(counted):
    view, explain = counted
    for t in (4, 10, 3):
        view.controls["step"].value = t
        check_step(view, "tuesday, 3 may 1999", t, 3)
    view.buttons["next"].click()
    check_step(view, "tuesday, 3 may 1999", 4, 3)
    view.buttons["previous"].click()
    view.buttons["previous"].click()
    check_step(view, "tuesday, 3 may 1999", 2, 3)
    view.controls["step"].value = 10
    assert view.buttons["next"].disabled
    assert "the end of the translation" in view.reading.value
    assert len(explain.calls) == 1


def test_choosing_an_example_shows_its_translation(counted):
    view, explain = counted
    view.controls["step"].value = 6
    view.controls["example"].value = "12/04/87"
    assert view.text == "12/04/87"
    check_step(view, "12/04/87", 6, 3)  # the same step of the new text
    assert text_of(view.written.value).count("1987-04-12") == 1
    view.controls["example"].value = "tuesday, 3 may 1999"
    assert explain.calls == [("tuesday, 3 may 1999", 3), ("12/04/87", 3)]  # the first came from the store


def test_the_beam_width_changes_the_beam_and_explain_is_called_once_per_text_and_width(counted):
    view, explain = counted
    for k in (1, 5, 2, 3, 5):
        view.controls["width"].value = k
        check_step(view, "tuesday, 3 may 1999", 0, k)
        view.controls["step"].value = 7
        check_step(view, "tuesday, 3 may 1999", 7, k)
        view.controls["step"].value = 0
    assert view.explained("tuesday, 3 may 1999", 5)["beams"][0][4][0] == "w"
    assert explain.calls == [("tuesday, 3 may 1999", k) for k in (3, 1, 5, 2)]


def test_typing_a_text_translates_it(counted):
    view, explain = counted
    view.controls["step"].value = 3
    view.controls["text"].value = "5 june 2007"
    assert view.controls["example"].value == OWN_TEXT
    check_step(view, "5 june 2007", 3, 3)
    assert explain.calls[-1] == ("5 june 2007", 3)
    view.controls["text"].value = "1 jan 2001"  # typing an example's text selects it in the menu
    assert view.controls["example"].value == "1 jan 2001"
    check_step(view, "1 jan 2001", 3, 3)


def test_a_value_error_from_explain_is_shown_and_the_view_recovers(counted):
    view, explain = counted
    view.controls["step"].value = 5
    view.controls["text"].value = "what?"
    assert "characters not in the vocabulary: [&#x27;?&#x27;]" in view.message.value
    assert view.error == "Cannot translate this text: characters not in the vocabulary: ['?']" and view.result is None
    assert view.shown.layout.display == "none" and view.controls["step"].disabled
    assert view.buttons["next"].disabled and view.buttons["previous"].disabled
    view.controls["width"].value = 4  # asks again, shows the error again
    assert "characters not in the vocabulary" in view.message.value
    view.controls["text"].value = "what?"  # no change: nothing happens
    view.controls["example"].value = "12/04/87"
    assert not view.controls["step"].disabled
    check_step(view, "12/04/87", 0, 4)
    assert explain.calls == [("tuesday, 3 may 1999", 3), ("what?", 3), ("what?", 4), ("12/04/87", 4)]


def test_an_empty_text_asks_for_one_without_calling_explain(counted):
    view, explain = counted
    view.controls["text"].value = "  "
    assert "Type a date" in view.message.value and view.shown.layout.display == "none"
    assert len(explain.calls) == 1


def test_no_examples_starts_with_the_text_box():
    view = AttentionView(fake_explain, [], width=1)
    assert view.controls["example"].value == OWN_TEXT and "Type a date" in view.message.value
    view.controls["text"].value = "7 july 1977"
    check_step(view, "7 july 1977", 0, 1)


def test_an_answer_the_view_cannot_show_is_named():
    def wrong_shape(text, k):
        result = fake_explain(text, k)
        return {**result, "weights": result["weights"].T}

    view = AttentionView(wrong_shape, ["12/04/87"])
    assert "returned weights of shape (8, 11)" in view.message.value and "(11, 8)" in view.message.value


def test_other_errors_of_explain_are_raised():
    """Notebook 08 builds the view inside demo(...), which explains a NotImplementedError from an unwritten function."""
    def unwritten(text, k):
        raise NotImplementedError("beam_search")

    with pytest.raises(NotImplementedError):
        AttentionView(unwritten, ["12/04/87"])


def test_the_attention_map_frames_the_current_row_and_updates_fast(counted):
    view, _ = counted
    pictures = {}
    for t in range(11):
        view.controls["step"].value = t
        assert view.last_update_seconds < 0.05
        pictures[t] = view.picture.value
    assert len(set(pictures.values())) == 11
    image = np.asarray(Image.open(io.BytesIO(pictures[4])).convert("RGB")).astype(int)
    # the darkest cell of each row is the step's peak, in column order: rows are steps, columns input characters
    text = "tuesday, 3 may 1999"
    assert image.shape[:2][::-1] == map_size(11, len(text))
    left, top, cell = LEFT, TOP, CELL
    for t in range(11):
        row = image[top + t * cell + cell // 2, left + cell // 2::cell][:len(text)].sum(axis=1)
        assert int(np.argmin(row)) == peak(t, text)
    orange = np.all(np.abs(image - [230, 85, 13]) < 30, axis=2)
    framed_rows = np.nonzero(orange[:, left + 2 * cell])[0]  # the frame's top and bottom edges, in one column
    assert framed_rows.min() >= top + 4 * cell - 2 and framed_rows.max() <= top + 5 * cell + 1
