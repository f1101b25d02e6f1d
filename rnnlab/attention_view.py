"""Where the translator of notebook 08 looks: an interactive view of its attention and its beam.

    from rnnlab.attention_view import AttentionView
    view = AttentionView(explain, texts, width=3)
    display(view)                               # the controls and what they show
    view.controls["step"].value = 4             # what moving the step slider does
    view.result["weights"]                      # what the view shows, as explain returned it

You give the view a function `explain(text, k)` that runs your model on one text (see
`AttentionView`), and a few example texts. The view never trains or runs a model itself:
everything it shows comes from `explain`, called once per text and beam width (the answers are
kept, so moving through the steps costs nothing).

Controls, from the top:
- example: a menu of the example texts; or type your own date in the box beside it and press Enter
- decoder step: which output character to look at (0 is the first), with buttons for the
  previous and the next step
- beam width: k, the number of hypotheses the beam search keeps (1 is greedy decoding)

What it shows, for the chosen step t:
- the input characters, each shaded by how much attention step t pays to it (its weight is
  printed under it; the weights of a step add up to 1), and the character that step t writes;
- the translation, with the character of step t highlighted (the steps after it in grey);
- the whole attention map, one row per output step and one column per input character, darker
  for more weight, with step t's row framed;
- the beam after step t: its best hypotheses, best first, with their log-probabilities
  (the log of the probability the model gives to that beginning of a translation).
"""

import html
import io
import time
from collections import OrderedDict

import ipywidgets as widgets
import numpy as np
from PIL import Image, ImageDraw, ImageFont

OWN_TEXT = "(your own text)"  # what the example menu shows when the text is typed, not chosen
MAX_WIDTH = 5
CACHE_SIZE = 128  # explain's answers kept, by (text, k)

# Colours: the attention weight shades from white to dark blue; the current step is orange.
LIGHT, DARK = np.array([255, 255, 255]), np.array([8, 48, 107])
CURRENT = "#e6550d"
CURRENT_LIGHT = "#fdd0a2"
FAINT = "#9e9e9e"
ERROR = "#b00020"
LABEL_WIDTH = "8em"

# The attention map's geometry, in pixels.
CELL = 20
LEFT, TOP = 40, 22  # room for the output's labels on the left and the input's on top
FONT = ImageFont.load_default(size=12)


def shade(weight):
    """The colour of an attention weight between 0 (white) and 1 (dark blue), as an (r, g, b) tuple of ints."""
    weight = min(max(float(weight), 0.0), 1.0)
    return tuple(int(round(c)) for c in LIGHT + weight * (DARK - LIGHT))


def _css(rgb):
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _shown_char(char, space="\u2423"):
    """An input or output character as the view prints it: a space as a visible open box (or `space`)."""
    return space if char == " " else char


def _weight_text(weight):
    """A weight in at most four characters: .62, .05, 1.0 (the leading 0 would only take room)."""
    return "1.0" if weight >= 0.995 else f"{weight:.2f}".lstrip("0")


class AttentionView(widgets.VBox):
    """
    An interactive view of an encoder-decoder with attention: which input characters each output
    step reads, and the beam search's hypotheses after each step.

        view = AttentionView(explain, ["tuesday, 3 may 1999", "12/04/87"], width=3)
        display(view)

    Inputs:
    - explain: A function explain(text, k) for one input text and beam width k that returns a dict:
      - "input": the text
      - "output": the output tokens, one string each, the last one usually "</s>"
        (["1", "9", "9", "9", "-", "0", "5", "-", "0", "3", "</s>"])
      - "weights": numpy array (T_out, T_in); row t holds the attention weights of output step t over
        the input characters (T_in = len(text)); each row sums to 1
      - "beams": a list of T_out lists; beams[t] holds the beam's hypotheses after step t, best first,
        at most k of them, each a pair (beginning of the output as a string, its log-probability)
      It may raise ValueError (a text with a character the model does not know, say): the view shows
      the message instead of the pictures.
    - texts: A list of example texts for the menu; the view starts with the first
    - width: The beam width k to start with, 1 .. 5

    Attributes:
    - controls: Dict of the ipywidgets controls: "example" (menu), "text" (the text box), "step"
      (decoder step slider), "width" (beam width slider)
    - buttons: Dict of the "previous" and "next" step buttons
    - text, step, width: The current text, decoder step and beam width
    - result: explain's dict for the current text and width (None when it raised)
    - error: The message shown instead of the view (None when there is none)
    - reading, written, beam, message: The HTML widgets (what step t reads, the translation, the beam's
      table, the message line); picture: the Image widget of the attention map
    - last_update_seconds: How long the last update took
    """

    def __init__(self, explain, texts, width=3):
        texts = [str(text) for text in texts]
        if not 1 <= width <= MAX_WIDTH:
            raise ValueError(f"width must be between 1 and {MAX_WIDTH}, got {width!r}")
        self.explain = explain
        self.texts = texts
        self.result = None
        self.error = None
        self.last_update_seconds = None
        self._results = OrderedDict()  # (text, k) -> explain's dict, or the ValueError's message
        self._holding = True  # while the view moves several controls, only the last move updates

        label = {"description_width": LABEL_WIDTH}
        self.controls = {
            "example": widgets.Dropdown(options=[OWN_TEXT, *texts], value=texts[0] if texts else OWN_TEXT,
                                        description="example", style=label, layout=widgets.Layout(width="24em"),
                                        tooltip="an example text to translate"),
            "text": widgets.Text(value=texts[0] if texts else "", description="or type",
                                 placeholder="a date, e.g. 3 march 1999, then Enter", continuous_update=False,
                                 style={"description_width": "4em"}, layout=widgets.Layout(width="26em"),
                                 tooltip="your own text: press Enter to translate it"),
            "step": widgets.IntSlider(value=0, min=0, max=0, description="decoder step", continuous_update=True,
                                      style=label, layout=widgets.Layout(width="24em"),
                                      tooltip="which output step to look at (0 is the first)"),
            "width": widgets.IntSlider(value=width, min=1, max=MAX_WIDTH, description="beam width k",
                                       continuous_update=False, style=label, layout=widgets.Layout(width="20em"),
                                       tooltip="how many hypotheses the beam search keeps (1: greedy decoding)"),
        }
        button = {"layout": widgets.Layout(width="3em")}
        self.buttons = {
            "previous": widgets.Button(description="\u25c0", tooltip="the previous step", **button),
            "next": widgets.Button(description="\u25b6", tooltip="the next step", **button),
        }
        self.message = widgets.HTML()
        self.reading = widgets.HTML()
        self.written = widgets.HTML()
        self.picture = widgets.Image(format="png", layout=widgets.Layout(align_self="flex-start"))
        self.map_caption = widgets.HTML()
        self.beam = widgets.HTML(layout=widgets.Layout(margin="0 0 0 2em"))
        self.shown = widgets.VBox([
            self.reading,
            self.written,
            widgets.HBox([widgets.VBox([self.map_caption, self.picture]), self.beam]),
        ])
        c = self.controls
        super().__init__([
            widgets.HBox([c["example"], c["text"]]),
            widgets.HBox([c["step"], self.buttons["previous"], self.buttons["next"], c["width"]]),
            self.message,
            self.shown,
        ])
        self.add_class("rnnlab-attention-view")

        c["example"].observe(self._on_example, names="value")
        c["text"].observe(self._on_text, names="value")
        c["step"].observe(self._on_step, names="value")
        c["width"].observe(self._on_width, names="value")
        self.buttons["previous"].on_click(lambda _: self._move_step(-1))
        self.buttons["next"].on_click(lambda _: self._move_step(+1))
        self._holding = False
        self._update(new_text=True)

    # What is shown --------------------------------------------------------------------------

    @property
    def text(self):
        return self.controls["text"].value

    @property
    def step(self):
        return self.controls["step"].value

    @property
    def width(self):
        return self.controls["width"].value

    def explained(self, text, k):
        """explain(text, k), from the view's store after the first call; a ValueError's message is stored too."""
        key = (text, k)
        if key not in self._results:
            try:
                result = self.explain(text, k)
                _check(result, text, k)
            except ValueError as error:
                result = str(error) or repr(error)
            self._results[key] = result
            while len(self._results) > CACHE_SIZE:
                self._results.popitem(last=False)
        self._results.move_to_end(key)
        return self._results[key]

    # The controls ---------------------------------------------------------------------------

    def _on_example(self, change):
        if self._holding or change["new"] == OWN_TEXT:
            return
        self._holding = True
        self.controls["text"].value = change["new"]
        self._holding = False
        self._update(new_text=True)

    def _on_text(self, change):
        if self._holding:
            return
        self._holding = True
        self.controls["example"].value = change["new"] if change["new"] in self.texts else OWN_TEXT
        self._holding = False
        self._update(new_text=True)

    def _on_step(self, change):
        if not self._holding:
            self._update()

    def _on_width(self, change):
        if not self._holding:
            self._update(new_text=True)

    def _move_step(self, by):
        slider = self.controls["step"]
        slider.value = min(max(slider.value + by, slider.min), slider.max)

    def _update(self, new_text=False):
        """Show the current text, width and step; with new_text, after asking explain (or the store) first."""
        started = time.perf_counter()
        if new_text:
            text = self.text
            if not text.strip():
                self.result, self.error = None, "Type a date in the box and press Enter."
            else:
                try:
                    found = self.explained(text, self.width)
                except Exception as error:  # the learner's code failed: say so here too, then raise
                    self._show_error(f"explain failed: {error!r}")
                    raise
                self.result, self.error = ((None, f"Cannot translate this text: {found}") if isinstance(found, str)
                                           else (found, None))
            slider = self.controls["step"]
            self._holding = True
            steps = len(self.result["output"]) if self.result else 1
            slider.max = steps - 1  # the value is clipped to it
            slider.disabled = self.result is None
            self._holding = False
        if self.result is None:
            self._show_error(self.error)
        else:
            self._show(self.result, self.step)
        self.last_update_seconds = time.perf_counter() - started

    def _show_error(self, message):
        self.message.value = (f'<div style="color: {ERROR}; margin: 0.5em 0 0.5em {LABEL_WIDTH}">'
                              f'{html.escape(message)}</div>')
        self.shown.layout.display = "none"
        for button in self.buttons.values():
            button.disabled = True

    def _show(self, result, t):
        self.message.value = ""
        self.shown.layout.display = None
        output = result["output"]
        self.buttons["previous"].disabled = t == 0
        self.buttons["next"].disabled = t == len(output) - 1
        self.reading.value = reading_html(result["input"], output[t], np.asarray(result["weights"])[t], t)
        self.written.value = written_html(output, t)
        width, _ = map_size(len(output), len(result["input"]))
        self.map_caption.value = (f'<div style="font-size: 0.9em; line-height: 1.4; color: {FAINT}; max-width: '
                                  f'{max(width, 280)}px">The attention map: a row for each output step, a column for '
                                  f'each input character; darker reads more. Step {t}\'s row is framed.</div>')
        self.picture.layout.width = f"{width}px"  # its own size: stretched, it would blur
        self.picture.value = attention_map_png(result["input"], output, result["weights"], t)
        greedy = "".join(token for token in output[:t + 1] if token != "</s>")
        self.beam.value = beam_html(result["beams"][t], t, self.width, greedy)


def _check(result, text, k):
    """Raise ValueError, saying what is wrong, if explain's answer is not what the view can show."""
    missing = {"input", "output", "weights", "beams"} - set(result)
    if missing:
        raise ValueError(f"explain({text!r}, {k}) returned a dict without {sorted(missing)}")
    weights = np.asarray(result["weights"])
    expected = (len(result["output"]), len(result["input"]))
    if weights.shape != expected:
        raise ValueError(f"explain({text!r}, {k}) returned weights of shape {weights.shape}; the view expects "
                         f"(len(output), len(input)) = {expected}")
    if len(result["beams"]) != len(result["output"]):
        raise ValueError(f"explain({text!r}, {k}) returned {len(result['beams'])} beams for "
                         f"{len(result['output'])} output steps; the view expects one beam per step")


# The pieces of HTML and the picture -----------------------------------------------------------------


def reading_html(text, writes, weights, t):
    """
    What step t reads: a line in words, then a table of the input characters, each cell shaded by its
    weight, with the weight printed small under the character; the cell read most has an orange frame.
    """
    strongest = int(np.argmax(weights)) if len(weights) else -1
    cells = []
    for i, (char, weight) in enumerate(zip(text, weights)):
        background = shade(weight)
        ink = "#ffffff" if weight > 0.5 else "#212121"
        frame = f"2px solid {CURRENT}" if i == strongest else "1px solid #e0e0e0"
        cells.append(f'<td class="attention-cell{" strongest" if i == strongest else ""}" title="input {i}: '
                     f'{html.escape(repr(char))}, weight {weight:.3f}" style="background: {_css(background)}; '
                     f'color: {ink}; border: {frame}; padding: 2px 0; width: 2.1em; min-width: 2.1em; '
                     f'text-align: center; line-height: 1.2">'
                     f'<div style="font-family: var(--jp-code-font-family, monospace); font-size: 1.15em">'
                     f'{html.escape(_shown_char(char))}</div>'
                     f'<div class="weight" style="font-size: 0.72em">{_weight_text(weight)}</div></td>')
    writes_shown = "the end of the translation, </s>" if writes == "</s>" else f"'{_shown_char(writes)}'"
    return (f'<div style="margin: 0.6em 0 0.3em; line-height: 1.4">Step {t} writes <b class="writes" style="background: '
            f'{CURRENT_LIGHT}; padding: 0 0.3em; font-family: var(--jp-code-font-family, monospace)">'
            f'{html.escape(writes_shown)}</b> and reads: <span style="color: {FAINT}; font-size: 0.9em">(darker: more '
            f'attention; under each input character its weight; a step\'s weights add up to 1)</span></div>'
            f'<table class="reading" style="border-collapse: collapse; table-layout: fixed; margin: 0"><tr>'
            f'{"".join(cells)}</tr></table>')


def written_html(output, t):
    """The translation: the steps before t in black, step t's character highlighted, the steps after in grey."""
    parts = []
    for i, token in enumerate(output):
        shown = html.escape(_shown_char(token))
        if i < t:
            parts.append(f'<span class="done">{shown}</span>')
        elif i == t:
            parts.append(f'<span class="current" style="background: {CURRENT}; color: #ffffff; font-weight: bold; '
                         f'padding: 0 0.15em; border-radius: 3px">{shown}</span>')
        else:
            parts.append(f'<span class="later" style="color: {FAINT}">{shown}</span>')
    return (f'<div style="margin: 0.6em 0; line-height: 1.4">The translation (greedy): <span class="translation" style="font-family: '
            f'var(--jp-code-font-family, monospace); font-size: 1.2em; letter-spacing: 0.08em">'
            f'{"".join(parts)}</span> <span style="color: {FAINT}; font-size: 0.9em">(written up to step {t}; '
            f'the rest in grey)</span></div>')


def beam_html(hypotheses, t, k, greedy):
    """The beam after step t as a table: rank, the beginning of the output, its log-probability."""
    rows = []
    for rank, (prefix, log_prob) in enumerate(hypotheses, start=1):
        same = prefix == greedy
        note = f' <span style="color: {FAINT}; font-size: 0.85em">= greedy</span>' if same else ""
        rows.append(f'<tr class="hypothesis"><td style="text-align: right; padding: 1px 0.8em">{rank}</td>'
                    f'<td class="prefix" style="font-family: var(--jp-code-font-family, monospace); padding: 1px 0.8em; '
                    f'white-space: pre">{html.escape(prefix)}{note}</td>'
                    f'<td class="log-prob" style="text-align: right; padding: 1px 0.8em">{log_prob:.2f}</td></tr>')
    head = ''.join(f'<th style="text-align: {align}; padding: 1px 0.8em; border-bottom: 1px solid #bdbdbd; '
                   f'font-weight: normal">{name}</th>'
                   for name, align in (("rank", "right"), ("beginning", "left"), ("log-probability", "right")))
    return (f'<div style="font-size: 0.9em; line-height: 1.4; color: {FAINT}; max-width: 22em">The beam after step {t} (width k = {k}): its best '
            f'beginnings, best first</div>'
            f'<table class="beam" style="border-collapse: collapse; margin-top: 0.3em; line-height: 1.6"><tr>{head}</tr>'
            f'{"".join(rows)}</table>')


def map_size(rows, cols):
    """The attention map's (width, height) in pixels, for rows output steps and cols input characters."""
    return LEFT + cols * CELL + 4, TOP + rows * CELL + 4


def attention_map_png(text, output, weights, t):
    """The attention map as PNG bytes: a cell per (output step, input character), the input along the top,
    the output down the left side, step t's row framed in orange."""
    weights = np.clip(np.asarray(weights, dtype=float), 0.0, 1.0)
    rows, cols = weights.shape
    left, top = LEFT, TOP
    image = Image.new("RGB", map_size(rows, cols), "white")
    # The cells: one small image of the colours, scaled up without smoothing.
    colours = (LIGHT + weights[..., None] * (DARK - LIGHT)).round().astype(np.uint8)
    image.paste(Image.fromarray(colours, "RGB").resize((cols * CELL, rows * CELL), Image.NEAREST), (left, top))
    draw = ImageDraw.Draw(image)
    for i, char in enumerate(text):
        draw.text((left + i * CELL + CELL / 2, top - 3), _shown_char(char, "\u00b7"), fill="#424242", font=FONT, anchor="ms")
    for s, token in enumerate(output):
        colour = CURRENT if s == t else "#424242"
        draw.text((left - 4, top + s * CELL + CELL / 2), _shown_char(token), fill=colour, font=FONT, anchor="rm")
    draw.rectangle((left - 1, top + t * CELL - 1, left + cols * CELL, top + (t + 1) * CELL), outline=CURRENT, width=2)
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=1)
    return buffer.getvalue()
