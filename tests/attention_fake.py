"""A made-up translator for the tests of notebook 08's attention view (tests/test_attention_view.py, and the
notebook tests/test_attention_view_browser.py runs in JupyterLab): explain as 08 defines it, without a model."""

import numpy as np

# The fake translator: what it writes for the examples (anything else it can read becomes OTHER).
EXAMPLES = {"tuesday, 3 may 1999": "1999-05-03", "12/04/87": "1987-04-12", "1 jan 2001": "2001-01-01"}
OTHER = "2000-01-01"
VOCABULARY = set("abcdefghijklmnopqrstuvwxyz0123456789 ,./-")
PEAK = 0.73  # the weight of the input character each step reads most


def peak(t, text):
    """The input position that output step t reads most."""
    return (3 * t) % len(text)


def fake_explain(text, k):
    """explain as notebook 08 defines it, made up: step t reads input peak(t, text) with weight PEAK, the rest evenly;
    the beam after step t holds the true beginning (log-probability -0.25 per step) and k - 1 worse ones ending in x, y..."""
    unknown = sorted(set(text) - VOCABULARY)
    if unknown:
        raise ValueError(f"characters not in the vocabulary: {unknown}")
    output = list(EXAMPLES.get(text, OTHER)) + ["</s>"]
    weights = np.full((len(output), len(text)), (1 - PEAK) / (len(text) - 1))
    for t in range(len(output)):
        weights[t, peak(t, text)] = PEAK
    iso = "".join(output[:-1])
    beams = [[(iso[:t + 1], -0.25 * (t + 1))] + [(iso[:t] + "xyzw"[j], -1.5 - j - 0.1 * t) for j in range(k - 1)]
             for t in range(len(output))]
    return {"input": text, "output": output, "weights": weights, "beams": beams}
