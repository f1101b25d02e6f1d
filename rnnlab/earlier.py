"""
Use the functions you wrote in an earlier notebook, from your own copy of it.

Notebook 05 trains the cells you built in 01, 03 and 04. It does not import them from
``rnnlab`` (which holds no answers): it reads them out of your own notebooks, next to
this one, the way you left them::

    from rnnlab.earlier import load

    lstm = load("03_lstm", "lstm_forward", "lstm_backward")
    h, cache = lstm.lstm_forward(x, h0, Wx, Wh, b)

Only the ``import`` lines, the ``def`` (and ``class``) blocks and the ``load(...)`` lines of
your earlier notebook are run (05's ``train`` uses 02's ``clip_gradients``); its tests, pictures, demos and magics
are not. Each function is then checked once against its own notebook's worked example (``reference.json``, the one
its test cell used, called as that cell called it: :func:`call_as_tested`). A function
that is missing, not written yet, raises an error or gives other numbers is replaced by a
stand-in that stops any cell using it with one line saying what to finish, for example
"notebook 03's lstm_backward does not match its worked example yet (dWx differs): finish it in
03_lstm.ipynb and save that notebook (this one reads the saved file); its tests there show what to fix".
"""

import ast
import functools
import json
import types
from pathlib import Path

import numpy as np

from rnnlab import testing
from rnnlab.testing import RECOMPUTED_ATOL, RECOMPUTED_RTOL, EarlierWorkError, close


def _unfinished(label, reason, advice):
    def stand_in(*args, **kwargs):
        raise EarlierWorkError(label, reason, advice)

    return stand_in


def _definitions(notebook):
    """
    The imports and function definitions of a notebook's code cells, as one module, skipping
    test cells (nbgrader's graded, read-only cells) and any cell that does not parse.
    Returns (module, [problems]).
    """
    module = ast.Module(body=[], type_ignores=[])
    problems = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            continue  # a test cell: never run here
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        try:
            tree = ast.parse(_python(source))
        except SyntaxError as error:
            problems.append(f"cell {index + 1} has a syntax error (line {error.lineno}: {error.msg})")
            continue
        keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
        module.body += [node for node in tree.body if isinstance(node, keep) or _loads_earlier(node)]
    return module, problems


def _loads_earlier(node):
    """
    ``name = load(...)`` or ``name = load(...).function``: an earlier notebook that itself loads
    functions from the ones before it (05's ``train`` uses 02's ``clip_gradients``).
    """
    value = node.value if isinstance(node, ast.Assign) else None
    if isinstance(value, ast.Attribute):
        value = value.value
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "load"


def _python(source):
    """A cell's code as plain Python: IPython's magics (``%matplotlib inline``, ``!pip ...``) become calls, which are skipped."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # outside Jupyter: a cell with a magic then counts as a syntax error
        return source
    return TransformerManager().transform_cell(source)


def _namespace(module, label, folder):
    """Run the imports and definitions one by one: a failing import loses only itself."""
    namespace = {"__name__": f"earlier_{label}"}
    for node in module.body:
        if _loads_earlier(node):  # its own earlier notebooks are next to it, wherever this one runs
            namespace["load"] = functools.partial(load, folder=folder)
        try:
            exec(compile(ast.Module(body=[node], type_ignores=[]), f"<notebook {label}>", "exec"), namespace)
        except Exception:  # noqa: BLE001 - e.g. an import the learner misspelled; the functions that need it fail their check
            pass
    return namespace


def call_as_tested(function, namespace, call, inputs):
    """
    Call ``function`` on a worked example's ``inputs`` (a dict of arrays) the way its test cell did, as the release
    wrote it into reference.json (autograder.examples.build_reference), and return the outputs the test cell checked,
    in its order. ``call`` is a dict:

    - "args", "kwargs": the arguments, each {"input": name} (a copy of that input, optionally "as": "float", "int",
      "list", "ints" or "bools", the last two arrays of integers or booleans), {"dict": {key: input name}} (a dict of
      copies), {"layers": {"names": [...], "layers": L, "directions": K}} (a list of L lists of K dicts, each
      {name: input "<name>_<layer>_<direction>"}), {"cache": function, "inputs": [names]} or {"cache": function,
      "args": [specs]} (the last value another function of ``namespace`` returns for those inputs or arguments) or
      {"helper": name} (from rnnlab.testing);
    - "outputs" (optional; default: the returned values, in order): where each output is found after the call,
      ["returned", index or key, ...] or ["argument", position, index or key, ...] (an argument the function
      was given, afterwards).
    """
    inputs = {key: np.array(value, dtype=np.float64) for key, value in inputs.items()}
    convert = {"float": float, "int": int, "list": list, "ints": lambda value: value.astype(np.int64),
               "bools": lambda value: value > 0}

    def argument(spec):
        if "input" in spec:
            value = inputs[spec["input"]].copy()
            return convert[spec["as"]](value) if "as" in spec else value
        if "dict" in spec:
            return {key: inputs[name].copy() for key, name in spec["dict"].items()}
        if "layers" in spec:
            shape = spec["layers"]
            return [[{name: inputs[f"{name}_{layer}_{direction}"].copy() for name in shape["names"]}
                     for direction in range(shape["directions"])] for layer in range(shape["layers"])]
        if "cache" in spec and "args" in spec:
            return namespace[spec["cache"]](*[argument(inner) for inner in spec["args"]])[-1]
        if "cache" in spec:
            return namespace[spec["cache"]](**{name: inputs[name].copy() for name in spec["inputs"]})[-1]
        return getattr(testing, spec["helper"])

    args = [argument(spec) for spec in call.get("args", [])]
    result = function(*args, **{key: argument(spec) for key, spec in call.get("kwargs", {}).items()})
    if "outputs" not in call:
        return list(result) if isinstance(result, tuple) else [result]
    outputs = []
    for source, *path in call["outputs"]:
        value = result if source == "returned" else args[path.pop(0)]
        for step in path:
            value = value[step]
        outputs.append(value)
    return outputs


def _check(function, namespace, example):
    """"" when ``function`` gives its worked example's outputs, else what went wrong, for the learner."""
    expected = list(example["expected"].items())
    try:
        with np.errstate(all="ignore"):
            outputs = call_as_tested(function, namespace, example["call"], example["inputs"])
    except NotImplementedError:
        return "is not written and saved yet"  # this notebook reads the saved file, not the open one
    except EarlierWorkError as error:
        return f"cannot run yet ({error.label} {error.reason})"
    except Exception as error:  # noqa: BLE001 - any error becomes one line
        text = str(error).splitlines()[0] if str(error) else ""
        return f"raised {type(error).__name__}{': ' + text if text else ''}"
    for (output, value), actual in zip(expected, outputs):
        value = np.array(value, dtype=np.float64)
        try:
            actual = np.asarray(actual, dtype=np.float64)
        except (TypeError, ValueError):
            return f"does not match its worked example yet ({output} is not an array of numbers)"
        if actual.shape != value.shape:
            return f"does not match its worked example yet ({output} has shape {actual.shape}, not {value.shape})"
        if not close(actual, value, RECOMPUTED_RTOL, RECOMPUTED_ATOL):
            return f"does not match its worked example yet ({output} differs)"
    if len(outputs) < len(expected):
        return f"does not match its worked example yet (it returns {len(outputs)} values, not {len(expected)})"
    return ""


def load(assignment, *names, folder=".."):
    """
    The functions ``names`` from your own notebook ``<folder>/<assignment>/<assignment>.ipynb``.

    Inputs:
    - assignment: The earlier notebook's folder name, e.g. "03_lstm"
    - names: The functions to take from it, e.g. "lstm_forward", "lstm_backward"
    - folder: Where the notebooks' folders are (default: next to this notebook's folder)

    Returns:
    - functions: A namespace with one attribute per name (``functions.lstm_forward``). A function
      that passes its worked example is your own function, unchanged; one that does not is a
      stand-in raising :class:`EarlierWorkError` with the reason, so only the cells that use it stop.
    """
    number = assignment.split("_")[0]
    path = Path(folder) / assignment / f"{assignment}.ipynb"
    label = f"notebook {number}'s {{}}".format
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        reason, advice = f"is in {path}, but that file is not there", f"put notebook {number} back next to this one"
        return types.SimpleNamespace(**{name: _unfinished(label(name), reason, advice) for name in names})
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        reason = f"cannot be read: {path} is not a notebook file ({type(error).__name__})"
        advice = "open it in JupyterLab and save it again"
        return types.SimpleNamespace(**{name: _unfinished(label(name), reason, advice) for name in names})
    module, problems = _definitions(notebook)
    namespace = _namespace(module, assignment, folder)
    try:
        examples = json.loads((path.parent / "reference.json").read_text())
    except (OSError, ValueError):
        examples = {}
    advice = f"finish it in {path.name} and save that notebook (this one reads the saved file); its tests there show what to fix"
    found = {}
    for name in names:
        function = namespace.get(name)
        if not callable(function):
            why = f" ({'; '.join(problems)})" if problems else ""
            reason = f"is not defined in {path.name}{why}"
        else:
            # a function without a worked example that says how to call it is taken as it is
            example = examples.get(name, {})
            reason = _check(function, namespace, example) if "call" in example else ""
        found[name] = _unfinished(label(name), reason, advice) if reason else function
    return types.SimpleNamespace(**found)
