"""Chart probe: runs a plotting script headless and records the data of the chart it drew.

This file is standalone on purpose (standard library + matplotlib, no ``ftagent`` imports): the chart
scorer copies it into a sandbox workspace next to ``answer.py`` (the model's script) and ``table.csv``
and runs ``python chart_probe.py``. It

1. reads a one-time token from ``probe_token.txt`` and deletes that file, so the script under test
   cannot learn the name of the result file;
2. forces the non-interactive Agg backend and turns ``plt.show()`` into a snapshot of every open figure
   (so a script that closes its figures after showing them is still measured);
3. runs ``answer.py`` as ``__main__`` and records the exception it raised, if any;
4. writes ``result-<token>.json``: ``{"error": str | None, "chart": {...}}`` where ``chart`` holds, over
   all axes of all figures: ``bar_heights`` and ``bar_widths`` (rectangles in ``ax.patches``),
   ``pie`` (wedge fractions of the full circle), ``lines`` (``ydata`` of each line), ``scatter``
   (y offsets of each point collection) and ``area`` (per x, the height between the lower and upper
   edge of each filled polygon, as drawn by ``fill_between`` or ``stackplot``), and ``captured``: what
   the paper's evaluator records, the y argument of each positional ``plt.bar(x, y)``,
   ``plt.scatter(x, y)`` and ``plt.plot(x, y[, x2, y2 ...])`` call (pyplot functions only; numbers as
   floats, anything else as text; Jensen246/opencompass ``opencompass/datasets/tablebench/tablebench.py``,
   ``TableBenchVisualizationEvaluator._execute_code``).

The exit status is 0 whenever the result file was written.
"""

import json
import os
import runpy
import sys


def _floats(values):
    """``values`` as a list of floats, or None when one of them is not numeric (dates, strings)."""
    try:
        return [float(v) for v in values]
    except (TypeError, ValueError):
        return None


def _heights(path):
    """Per distinct x of a filled polygon, top minus bottom, ordered by x."""
    spans = {}
    for x, y in path.vertices:
        lo, hi = spans.get(round(float(x), 9), (float(y), float(y)))
        spans[round(float(x), 9)] = (min(lo, float(y)), max(hi, float(y)))
    return [hi - lo for _, (lo, hi) in sorted(spans.items())]


def collect(plt):
    """The drawn data of every open figure (see the module docstring for the keys)."""
    from matplotlib.collections import PathCollection, PolyCollection
    from matplotlib.patches import Rectangle, Wedge

    chart = {"bar_heights": [], "bar_widths": [], "pie": [], "lines": [], "scatter": [], "area": []}
    for num in plt.get_fignums():
        for ax in plt.figure(num).axes:
            for p in ax.patches:
                if not p.get_visible():
                    continue
                if isinstance(p, Wedge):
                    chart["pie"].append((p.theta2 - p.theta1) / 360.0)
                elif isinstance(p, Rectangle):
                    chart["bar_heights"].append(float(p.get_height()))
                    chart["bar_widths"].append(float(p.get_width()))
            for line in ax.lines:
                ys = _floats(line.get_ydata())
                if ys is not None and line.get_visible():
                    chart["lines"].append(ys)
            for coll in ax.collections:
                if isinstance(coll, PathCollection):
                    chart["scatter"].append([float(y) for _, y in coll.get_offsets()])
                elif isinstance(coll, PolyCollection):
                    chart["area"].extend(_heights(path) for path in coll.get_paths())
    return chart


def _values(y):
    """A y argument as a list (floats where numeric, else text), like the paper's ``list(args[1])``."""
    items = list(y) if hasattr(y, "__iter__") and not isinstance(y, str) else [y]
    out = []
    for v in items:
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            out.append(str(v))
    return out


def capture_calls(plt, captured):
    """Wrap ``plt.bar``, ``plt.plot`` and ``plt.scatter`` to append their y arguments to ``captured``."""
    bar, plot, scatter = plt.bar, plt.plot, plt.scatter

    def cap_bar(*args, **kwargs):
        if len(args) >= 2:
            captured.append(_values(args[1]))
        return bar(*args, **kwargs)

    def cap_plot(*args, **kwargs):
        for i in range(0, len(args), 2):
            if i + 1 < len(args):
                captured.append(_values(args[i + 1]))
        return plot(*args, **kwargs)

    def cap_scatter(*args, **kwargs):
        if len(args) >= 2:
            captured.append(_values(args[1]))
        return scatter(*args, **kwargs)

    plt.bar, plt.plot, plt.scatter = cap_bar, cap_plot, cap_scatter


def main():
    """Run ``answer.py`` and write the result file."""
    with open("probe_token.txt", encoding="utf-8") as f:
        token = f.read().strip()
    os.remove("probe_token.txt")
    result_path = os.path.abspath(f"result-{token}.json")
    os.environ["MPLBACKEND"] = "Agg"
    import matplotlib

    matplotlib.use("Agg", force=True)
    matplotlib.use = lambda *args, **kwargs: None
    import matplotlib.pyplot as plt

    snapshot = {}

    def show(*args, **kwargs):
        if not snapshot:
            snapshot.update(collect(plt))

    plt.show = show
    captured = []
    capture_calls(plt, captured)
    error = None
    sys.argv = ["answer.py"]
    try:
        runpy.run_path("answer.py", run_name="__main__")
    except SystemExit as e:
        if e.code not in (None, 0):
            error = f"SystemExit({e.code})"
    except BaseException as e:  # noqa: B036  (everything the script raises is a score of 0, with its reason)
        error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
    try:
        chart = snapshot or collect(plt)
    except Exception as e:  # a script can leave figures that cannot be inspected
        chart, error = {}, error or f"cannot inspect the figure: {type(e).__name__}"
    try:
        json.dumps(captured)
    except (TypeError, ValueError):
        captured = []
    chart["captured"] = captured
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump({"error": error, "chart": chart}, f)


if __name__ == "__main__":
    main()
