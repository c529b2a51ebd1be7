"""TableBench Visualization (Pass@1): run the model's matplotlib script and compare the chart's data.

Protocol (TableBench ``Visualization`` items: ``table``, ``question``, ``chart_type`` and an ``answer`` of
the form ``y_references = [[...], ...]``, the y values of the reference chart, one list per series):

1. The last fenced code block of the output (or, without a fence, the whole output when it uses
   matplotlib) is the script. It reads the table from ``table.csv`` (written from the item's table,
   header = the columns) and ends with ``plt.show()``.
2. The script runs in a sandbox (the caller passes one: a wall-clock timeout, a memory cap, a throwaway
   workspace; never in this process) under :mod:`~ftagent.eval.scorers.chart_probe`, which draws
   headless (Agg) and reads the figure back by matplotlib introspection.
3. The values the chart type is measured by — bar/waterfall: rectangle heights; hbar: rectangle
   widths; line: line y data; radar: line y data, with or without the closing point; pie: wedge
   fractions of the circle (the reference is normalised to fractions); scatter: point y offsets, else
   line y data (``plt.plot(x, y, 'o')``); area: filled heights (``fill_between``/``stackplot``), else
   line y data — are compared with the flattened reference as multisets (series and bar order are
   free): the same count, NaN for NaN, and every value within 0.005 (two-decimal agreement; 0.005 of
   the circle for pie fractions).

A script that raises, times out, exceeds the memory cap, or draws nothing of the requested type
scores 0 with the reason. The threat model is accidental harm (loops, memory, files): the probe hides
the name of its result file from the script, but a script written to forge its own chart data by
inspecting the interpreter could; the sandbox, not the probe, is the safety boundary.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import math
import re
import secrets
import tempfile
from pathlib import Path
from typing import Any, Protocol

from ftagent.eval.scorers import chart_probe
from ftagent.eval.scorers.tablebench import to_number
from ftagent.eval.scoring import ItemScore, right, wrong

#: Wall-clock limit of one script (seconds; importing pandas + matplotlib takes 2-5 s on a busy CPU).
TIMEOUT_S = 60.0
#: Memory cap of one script (MiB of address space).
MEMORY_MB = 3072
#: Two drawn values agree when they differ by at most this (plus 1e-9 relative, for float noise).
ABS_TOL = 0.005
#: Chart types TableBench uses, and the probe's record that measures each.
CHART_SOURCES: dict[str, tuple[str, ...]] = {
    "bar": ("bar_heights",), "waterfall": ("bar_heights",), "hbar": ("bar_widths",), "line": ("lines",),
    "radar": ("lines",), "pie": ("pie",), "scatter": ("scatter", "lines"), "area": ("area", "lines"),
}
_ENV = {"MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class ScriptSandbox(Protocol):
    """What the scorer needs of a sandbox (:class:`ftagent.dojo.sandbox.Sandbox` satisfies it)."""

    def run(self, argv: list[str], workspace: Path, raw_dir: Path, *, timeout_s: float,
            memory_mb: int, extra_env: dict[str, str] | None = None) -> Any:
        """Run ``argv`` in ``workspace``; the result has ``returncode``, ``timed_out``, ``stderr_tail``."""
        ...


def extract_code(output: str) -> str | None:
    """The script in a model output: the last fenced block, an unterminated last fence, or the whole
    output when it has no fence but uses matplotlib; None otherwise."""
    text = output or ""
    blocks = re.findall(r"```[\w+-]*[^\n]*\n(.*?)```", text, flags=re.S)
    if blocks:
        return blocks[-1]
    m = re.search(r"```[\w+-]*[^\n]*\n(.*)\Z", text, flags=re.S)
    if m:
        return m.group(1)
    return text if ("plt." in text or "matplotlib" in text) else None


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return [x for v in value for x in _flatten(v)]
    return [value]


def parse_reference(answer: str) -> list[float]:
    """The reference y values of a Visualization answer (``y_references = [[...], ...]``), flattened.

    ``np.nan`` becomes NaN; strings such as ``'$9,589'`` are read as numbers.

    Raises:
        ValueError: the answer is not a (nested) list of numbers.
    """
    text = str(answer).strip()
    if re.match(r"^[A-Za-z_]\w*\s*=", text):
        text = text.split("=", 1)[1]
    text = re.sub(r"\b(?:np|numpy)\.nan\b|\bnan\b|\bNaN\b", "None", text)
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError) as e:
        raise ValueError(f"not a list literal ({type(e).__name__})") from None
    out = []
    for v in _flatten(value):
        if v is None:
            out.append(math.nan)
        elif isinstance(v, bool) or not isinstance(v, int | float | str):
            raise ValueError(f"unexpected value {v!r}")
        else:
            num = to_number(v) if isinstance(v, str) else float(v)
            if num is None:
                raise ValueError(f"not a number: {v!r}")
            out.append(num)
    return out


def table_csv(table: dict[str, Any]) -> str:
    """The item's table as CSV text: a header of the columns, then the rows."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.get("columns", []))
    w.writerows(table.get("data", []))
    return buf.getvalue()


def compare_values(reference: list[float], drawn: list[float], tol: float = ABS_TOL) -> str | None:
    """None when ``drawn`` equals ``reference`` as a multiset within ``tol``, else the first difference."""
    if len(drawn) != len(reference):
        return f"drew {len(drawn)} values, the reference has {len(reference)}"
    ref_nan, got_nan = sum(map(math.isnan, reference)), sum(map(math.isnan, drawn))
    if ref_nan != got_nan:
        return f"drew {got_nan} missing (NaN) values, the reference has {ref_nan}"
    ref = sorted(x for x in reference if not math.isnan(x))
    got = sorted(x for x in drawn if not math.isnan(x))
    for r, g in zip(ref, got, strict=True):
        if abs(g - r) > tol + 1e-9 * abs(r):
            return f"drew {g:.6g} where the reference has {r:.6g}"
    return None


def _candidates(chart_type: str, chart: dict[str, Any]) -> list[list[float]]:
    """The value lists the chart may be measured by (radar: with and without closing points)."""
    for key in CHART_SOURCES[chart_type]:
        data = chart.get(key) or []
        if not data:
            continue
        if key in ("lines", "scatter", "area"):
            if chart_type == "radar":
                closed = [s[:-1] if len(s) > 1 and s[0] == s[-1] else s for s in data]
                return [_flatten(closed), _flatten(data)]
            return [_flatten(data)]
        return [list(data)]
    return []


#: Results of recent script runs, so that both scoring profiles of one output run its script once.
_RUNS: dict[tuple[str, str, int, float, int], tuple[Any, dict[str, Any] | str]] = {}
_RUNS_MAX = 256


def run_chart_script(code: str, table: dict[str, Any], sandbox: ScriptSandbox, timeout_s: float = TIMEOUT_S,
                     memory_mb: int = MEMORY_MB) -> dict[str, Any] | str:
    """Run ``code`` under the chart probe in ``sandbox`` with ``table.csv`` next to it (memoised for the
    last :data:`_RUNS_MAX` distinct scripts and tables).

    Returns:
        The probe's result (``{"error": str | None, "chart": {...}}``), or a one-line reason why the
        script produced none (timeout, killed, crashed interpreter).
    """
    key = (code, table_csv(table), id(sandbox), timeout_s, memory_mb)  # the entry keeps the sandbox alive
    if key not in _RUNS:
        if len(_RUNS) >= _RUNS_MAX:
            _RUNS.pop(next(iter(_RUNS)))
        _RUNS[key] = (sandbox, _run_chart_script(code, table, sandbox, timeout_s, memory_mb))
    return _RUNS[key][1]


def _run_chart_script(code: str, table: dict[str, Any], sandbox: ScriptSandbox, timeout_s: float,
                      memory_mb: int) -> dict[str, Any] | str:
    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="ftagent-chart-") as tmp:
        ws, raw = Path(tmp) / "workspace", Path(tmp) / "raw"
        ws.mkdir()
        raw.mkdir()
        (ws / "answer.py").write_text(code, encoding="utf-8")
        (ws / "table.csv").write_text(table_csv(table), encoding="utf-8")
        probe = Path(chart_probe.__file__).read_text(encoding="utf-8")
        (ws / "chart_probe.py").write_text(probe, encoding="utf-8")
        (ws / "probe_token.txt").write_text(token, encoding="utf-8")
        res = sandbox.run(["python", "chart_probe.py"], ws, raw, timeout_s=timeout_s, memory_mb=memory_mb,
                          extra_env=dict(_ENV))
        result = ws / f"result-{token}.json"
        if res.timed_out:
            return f"script timed out after {timeout_s:g} s"
        if not result.exists():
            last = (res.stderr_tail or "").strip().splitlines()
            why = last[-1][:200] if last else f"exit status {res.returncode}"
            return f"script produced no chart (exit status {res.returncode}: {why})"
        try:
            return json.loads(result.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return "chart data unreadable"


def score_chart(output: str, *, table: dict[str, Any], reference: str, chart_type: str,
                sandbox: ScriptSandbox, timeout_s: float = TIMEOUT_S,
                memory_mb: int = MEMORY_MB) -> ItemScore:
    """Pass@1 of one Visualization output (see the module docstring).

    Args:
        output: Raw model output.
        table: The item's table, ``{"columns": [...], "data": [[...], ...]}``.
        reference: The item's answer, ``y_references = [[...], ...]``.
        chart_type: The item's chart type (a key of :data:`CHART_SOURCES`).
        sandbox: Where the script runs (timeout and memory cap enforced there).
        timeout_s: Wall-clock limit of the script.
        memory_mb: Memory cap of the script.

    Returns:
        1 when the drawn data match the reference, else 0 with the reason; ``extracted`` holds the
        measured values (first 50).
    """
    if not output or not output.strip():
        return wrong("empty output")
    if chart_type not in CHART_SOURCES:
        return wrong(f"unknown chart type {chart_type!r}")
    try:
        ref = parse_reference(reference)
    except ValueError as e:
        return wrong(f"reference chart data unreadable: {e}")
    code = extract_code(output)
    if code is None or not code.strip():
        return wrong("no python code in the output")
    result = run_chart_script(code, table, sandbox, timeout_s, memory_mb)
    if isinstance(result, str):
        return wrong(result)
    if result.get("error"):
        return wrong(f"script raised {result['error']}")
    candidates = _candidates(chart_type, result.get("chart") or {})
    if not candidates:
        return wrong(f"the script drew no {chart_type} chart data")
    if chart_type == "pie":
        total = sum(x for x in ref if not math.isnan(x))
        if total <= 0:
            return wrong("reference pie values do not sum to a positive total")
        ref = [x / total for x in ref]
    reasons = [compare_values(ref, c) for c in candidates]
    drawn = [None if math.isnan(x) else x for x in candidates[0][:50]]   # JSON-safe
    if any(r is None for r in reasons):
        return right(drawn, chart_type=chart_type)
    return wrong(reasons[0] or "", drawn, chart_type=chart_type)


# ------------------------------------------------------------------ the paper's evaluator (``paper`` profile)
# Source: Jensen246/opencompass, opencompass/datasets/tablebench/tablebench.py
# (TableBenchVisualizationEvaluator: _extract_code, _execute_code, _parse_y_references, _compare_data_arrays).
_PAPER_CODE_WORDS = ("import", "plt", "numpy", "pandas", "pd", "df")
#: Absolute tolerance of the paper's comparison of captured and reference values.
PAPER_TOL = 1e-2


def paper_extract_code(output: str) -> str | None:
    """The last fenced ``python`` block, else the whole output when it mentions one of
    :data:`_PAPER_CODE_WORDS`, else None."""
    blocks = re.findall(r"```python\s*(.*?)\s*```", output or "", flags=re.S)
    if blocks:
        return blocks[-1].strip()
    return output.strip() if any(w in (output or "") for w in _PAPER_CODE_WORDS) else None


def paper_reference(answer: str) -> list[Any] | None:
    """``y_references = [...]`` read as a Python literal (None when it is not one, e.g. with ``np.nan``)."""
    text = str(answer)
    if "y_references" in text.lower() and "=" in text:
        text = text[text.find("=") + 1:].strip()
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, list) else None


def paper_compare(captured: list[Any], reference: list[Any], tol: float = PAPER_TOL) -> bool:
    """The paper's match: as many captured series as reference series, each of the same length, values
    within ``tol`` (text compared as text); a pair that is not two lists is skipped."""
    if not captured or not reference or len(captured) != len(reference):
        return False
    for cap, ref in zip(captured, reference, strict=True):
        if not isinstance(cap, list | tuple) or not isinstance(ref, list | tuple):
            continue
        if len(cap) != len(ref):
            return False
        for c, r in zip(cap, ref, strict=True):
            try:
                if abs(float(c) - float(r)) > tol:
                    return False
            except (TypeError, ValueError):
                if str(c) != str(r):
                    return False
    return True


def score_chart_paper(output: str, *, table: dict[str, Any], reference: str, sandbox: ScriptSandbox,
                      timeout_s: float = TIMEOUT_S, memory_mb: int = MEMORY_MB) -> ItemScore:
    """Pass@1 as the paper's evaluator computes it (rule ``tablebench.visualization_capture``): only the
    y arguments of positional ``plt.bar``/``plt.plot``/``plt.scatter`` calls are compared with the
    reference series, so pie, ``barh``, ``ax.*`` and ``DataFrame.plot`` charts cannot pass."""
    code = paper_extract_code(output)
    if not code:
        return wrong("no python code in the output (paper extraction)")
    ref = paper_reference(reference)
    if ref is None:
        return wrong("reference y_references is not a Python list literal (paper parser)")
    result = run_chart_script(code, table, sandbox, timeout_s, memory_mb)
    if isinstance(result, str):
        return wrong(result)
    if result.get("error"):
        return wrong(f"script raised {result['error']}")
    captured = (result.get("chart") or {}).get("captured") or []
    if paper_compare(captured, ref):
        return right(captured[:5])
    return wrong(f"captured {len(captured)} plt.bar/plot/scatter series, the reference has {len(ref)} "
                 "(or values differ)", captured[:5])
