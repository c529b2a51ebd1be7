"""Per-run HTML reports: one static, self-contained page per run, and an index across runs.

A page reads only the run's records (``run.json``, ``trace.jsonl``, ``eval.json`` and each experiment's
files under ``experiments/<id>/``) and holds no script, no external file and no network reference
(inline CSS and SVG only), so it opens anywhere and can be archived with the run. Sections:

* the run: task, agent, backbone (the scripted backbone is labelled as not an LLM), status, stop
  reason, iterations, wall clock, GPU-hours, backbone tokens and cost, reported validation/test score;
* the **trace timeline** (inline SVG): one row per iteration with the stages of the loop, the ones
  reached filled, the failure class of a failed experiment in red, the validation score and the
  accept/reject decision;
* **loss curves** (inline SVG): the training loss of every trained experiment (``train.losses``);
* each **experiment**: its plan's hypothesis, data script (``experiments/<id>/process_data.py`` or the
  trace's ``data_script``) and training config, each with a unified diff against its parent's;
* the **backbone calls** per iteration: stage, prompt template, prompt/completion tokens, replayed,
  latency, and the run's cost spread over the calls by their share of the tokens (``run.json`` holds the
  cost of the run only).

``ftagent report html --run DIR`` writes ``DIR/report.html``; ``--index`` writes ``index.html`` over every
run found (with a page per run) into ``--out-dir``.
"""

from __future__ import annotations

import difflib
import html
import json
from pathlib import Path

from ftagent.records import EvalRecord, RunRecord, TraceEntry
from ftagent.report.outputs import FILE_MODE
from ftagent.utils.io import atomic_write_text, read_json

#: The loop's stages in order (ftagent.records.Stage).
STAGES = ["plan", "data_debug", "micro_batch", "full_data", "full_training", "evaluation", "feedback"]

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#222}
h1{font-size:20px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#f5f5f5}.ok{color:#1a7f37}.bad{color:#c62828}.muted{color:#777}
pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:8px;overflow:auto;max-height:420px;font-size:12px}
.add{color:#1a7f37}.del{color:#c62828}.tag{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px}
.accept{background:#d8f5dd}.reject{background:#eee}.failed{background:#fde0e0}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}
"""


def _e(x) -> str:
    return html.escape("" if x is None else str(x))


def _load(run_dir: Path) -> tuple[RunRecord, list[TraceEntry], EvalRecord | None]:
    run = RunRecord.model_validate(read_json(run_dir / "run.json"))
    trace_file = run_dir / "trace.jsonl"
    lines = trace_file.read_text(encoding="utf-8").splitlines() if trace_file.exists() else []
    trace = [TraceEntry.model_validate_json(ln) for ln in lines if ln.strip()]
    ev = EvalRecord.model_validate(read_json(run_dir / "eval.json")) if (run_dir / "eval.json").exists() else None
    return run, trace, ev


def timeline_svg(trace: list[TraceEntry]) -> str:
    """One row per iteration: stage cells (reached = filled), failure class, validation score, decision."""
    cw, rh, left = 78, 24, 150
    width = left + cw * len(STAGES) + 230
    height = 30 + rh * max(1, len(trace))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           'aria-label="trace timeline" id="timeline">']
    for j, st in enumerate(STAGES):
        out.append(f'<text x="{left + j * cw + cw / 2}" y="16" font-size="11" text-anchor="middle">{st}</text>')
    for i, e in enumerate(trace):
        y = 24 + i * rh
        reached = STAGES.index(e.stage_reached) if e.stage_reached in STAGES else -1
        out.append(f'<text x="4" y="{y + 15}" font-size="12">it {e.iteration} · {_e(e.experiment_id)}'
                   f'{" ← " + _e(e.parent_id) if e.parent_id else ""}</text>')
        for j, _ in enumerate(STAGES):
            if j < reached or (j == reached and e.status == "ok"):
                fill = "#5b9bd5"
            elif j == reached:  # the stage it failed at
                fill = "#e57373"
            else:
                fill = "#f0f0f0"
            out.append(f'<rect x="{left + j * cw + 2}" y="{y + 2}" width="{cw - 4}" height="{rh - 6}" rx="3" '
                       f'fill="{fill}"/>')
        score = f"{e.validation.score:.1f}" if e.validation else "–"
        if e.status == "failed":
            label, color = f"FAILED {e.failure_class or ''} at {e.stage_reached}", "#c62828"
        else:
            label, color = f"val {score} · {e.decision or '–'}", "#1a7f37" if e.decision == "accept" else "#555"
        out.append(f'<text x="{left + cw * len(STAGES) + 8}" y="{y + 15}" font-size="12" fill="{color}">{_e(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def loss_svg(curves: dict[str, list[float]]) -> str:
    """Training loss per logged step, one polyline per experiment, with axes and a legend."""
    curves = {k: v for k, v in curves.items() if v}
    if not curves:
        return '<p class="muted">No training losses recorded.</p>'
    w, h, l, b = 560, 240, 48, 28
    lo = min(min(v) for v in curves.values())
    hi = max(max(v) for v in curves.values())
    span = (hi - lo) or 1.0
    n = max(len(v) for v in curves.values())
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w + 170}" height="{h}" role="img" '
           'aria-label="loss curves" id="loss">',
           f'<line x1="{l}" y1="{h - b}" x2="{w}" y2="{h - b}" stroke="#444"/>',
           f'<line x1="{l}" y1="8" x2="{l}" y2="{h - b}" stroke="#444"/>',
           f'<text x="{(l + w) / 2}" y="{h - 6}" font-size="11" text-anchor="middle">logged training step</text>',
           f'<text x="12" y="{(h - b) / 2}" font-size="11" transform="rotate(-90 12 {(h - b) / 2})" '
           'text-anchor="middle">training loss</text>']
    for frac in (0.0, 0.5, 1.0):
        yv = lo + frac * span
        y = (h - b) - frac * (h - b - 12)
        out.append(f'<text x="{l - 4}" y="{y + 4}" font-size="10" text-anchor="end">{yv:.2f}</text>')
    for k, (name, v) in enumerate(curves.items()):
        pts = " ".join(
            f"{l + (i / max(1, n - 1)) * (w - l - 8):.1f},{(h - b) - ((x - lo) / span) * (h - b - 12):.1f}"
            for i, x in enumerate(v)
        )
        c = colors[k % len(colors)]
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.6" points="{pts}"/>')
        out.append(f'<rect x="{w + 12}" y="{14 + 18 * k}" width="12" height="3" fill="{c}"/>'
                   f'<text x="{w + 30}" y="{19 + 18 * k}" font-size="11">{_e(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def _diff(old: str, new: str, a: str, b: str) -> str:
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), a, b, lineterm=""))
    if not lines:
        return '<p class="muted">identical to the parent</p>'
    body = []
    for ln in lines:
        cls = "add" if ln.startswith("+") and not ln.startswith("+++") else "del" if ln.startswith("-") and not ln.startswith("---") else ""
        body.append(f'<span class="{cls}">{_e(ln)}</span>' if cls else _e(ln))
    return "<pre>" + "\n".join(body) + "</pre>"


def _script(run_dir: Path, e: TraceEntry) -> str:
    for p in ([run_dir / e.data_script] if e.data_script else []) + [run_dir / "experiments" / e.experiment_id / "process_data.py"]:
        if p.is_file():
            return p.read_text(encoding="utf-8", errors="replace")
    return ""


def run_page(run_dir: Path) -> str:
    """The HTML of one run's report (see the module docstring)."""
    run_dir = Path(run_dir)
    run, trace, ev = _load(run_dir)
    by_id = {e.experiment_id: e for e in trace}
    backbone = run.llm.backbone_label if run.spec.backbone != "none" else "none"
    if run.spec.backbone == "scripted":
        backbone += " (offline scripted policy, not an LLM)"
    rows = [
        ("Task", run.spec.task), ("Agent", run.spec.agent), ("Backbone", backbone), ("Base model", run.spec.base_model),
        ("Scale / cap / seed", f"{run.spec.scale} / {run.spec.sample_cap} / {run.spec.seed}"),
        ("Status", run.status + (f" ({run.error})" if run.error else "")), ("Stop reason", run.stop_reason or "–"),
        ("Iterations", run.iterations), ("Wall clock", f"{run.wall_s / 60:.1f} min"), ("GPU-hours", f"{run.gpu_hours:.2f}"),
        ("Backbone calls / tokens / cost", f"{run.llm.calls} / {run.llm.prompt_tokens + run.llm.completion_tokens:,} / "
                                           f"${run.llm.cost_usd:.2f}"),
    ]
    if ev is not None:
        rows += [("Metric", ev.metric), ("Selected experiment", ev.selected_experiment or "base model"),
                 ("Validation / test (reported)", f"{ev.validation:.2f} / {ev.test:.2f}")]
    else:
        rows.append(("Evaluation", "no eval.json yet"))
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(run.run_id)}</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>Run {_e(run.run_id)}</h1><table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows) + "</table>",
             "<h2>Trace timeline</h2>", timeline_svg(trace) if trace else '<p class="muted">No trace (the agent does not iterate).</p>']
    if trace:
        parts.append("<table><tr><th>it</th><th>experiment</th><th>parent</th><th>stage reached</th><th>failure class</th>"
                     "<th>validation</th><th>decision</th></tr>")
        for e in trace:
            dec = e.decision or ("failed" if e.status == "failed" else "–")
            parts.append(f"<tr><td>{e.iteration}</td><td>{_e(e.experiment_id)}</td><td>{_e(e.parent_id or '–')}</td>"
                         f"<td>{_e(e.stage_reached)}</td><td class='bad'>{_e(e.failure_class or '')}</td>"
                         f"<td>{'%.2f' % e.validation.score if e.validation else '–'}</td>"
                         f"<td><span class='tag {_e(dec)}'>{_e(dec)}</span></td></tr>")
        parts.append("</table>")
    parts += ["<h2>Loss curves</h2>", loss_svg({e.experiment_id: list(e.train.get("losses") or []) for e in trace})]
    if trace:
        parts.append("<h2>Experiments</h2>")
    for e in trace:
        parent = by_id.get(e.parent_id) if e.parent_id else None
        script, cfg = _script(run_dir, e), json.dumps(e.train_config or {}, indent=1, sort_keys=True)
        parts.append(f"<details {'open' if e.iteration == 0 else ''}><summary>{_e(e.experiment_id)} "
                     f"({_e(e.status)}{', ' + _e(e.failure_class) if e.failure_class else ''})</summary>")
        if e.hypothesis:
            parts.append(f"<p><b>Hypothesis:</b> {_e(e.hypothesis)}</p>")
        if e.error:
            parts.append(f"<p class='bad'><b>Error:</b></p><pre>{_e(e.error[-1500:])}</pre>")
        parts.append(f"<h3>Data script</h3><pre>{_e(script) or '(none)'}</pre>")
        if parent is not None:
            parts.append(f"<p>Diff against the parent {_e(parent.experiment_id)}:</p>"
                         + _diff(_script(run_dir, parent), script, f"{parent.experiment_id}/process_data.py",
                                 f"{e.experiment_id}/process_data.py"))
        parts.append(f"<h3>Training config</h3><pre>{_e(cfg)}</pre>")
        if parent is not None:
            pcfg = json.dumps(parent.train_config or {}, indent=1, sort_keys=True)
            parts.append(f"<p>Diff against the parent {_e(parent.experiment_id)}:</p>"
                         + _diff(pcfg, cfg, f"{parent.experiment_id}/train.yaml", f"{e.experiment_id}/train.yaml"))
        parts.append("</details>")
    calls = [(e.iteration, c) for e in trace for c in e.llm_calls]
    total_tok = sum(c.prompt_tokens + c.completion_tokens for _, c in calls)
    parts.append("<h2>Backbone calls</h2>")
    if calls:
        parts.append("<table><tr><th>it</th><th>stage</th><th>prompt</th><th>prompt tokens</th><th>completion tokens</th>"
                     "<th>replayed</th><th>latency (s)</th><th>cost share ($)</th></tr>")
        for it, c in calls:
            share = run.llm.cost_usd * (c.prompt_tokens + c.completion_tokens) / total_tok if total_tok else 0.0
            parts.append(f"<tr><td>{it}</td><td>{_e(c.stage)}</td><td>{_e(c.prompt or '–')}</td><td>{c.prompt_tokens:,}</td>"
                         f"<td>{c.completion_tokens:,}</td><td>{'yes' if c.replayed else 'no'}</td>"
                         f"<td>{c.latency_s:.2f}</td><td>{share:.4f}</td></tr>")
        parts.append(f"</table><p class='muted'>{len(calls)} calls, {total_tok:,} tokens; the run's cost "
                     f"(${run.llm.cost_usd:.2f}, run.json) is spread by token share.</p>")
    else:
        parts.append('<p class="muted">No backbone calls recorded.</p>')
    parts.append("</body></html>")
    return "\n".join(parts)


def write_run_page(run_dir: Path, out: Path | None = None) -> Path:
    """Write :func:`run_page` to ``out`` (default ``<run_dir>/report.html``), atomically, 0644."""
    out = Path(out) if out else Path(run_dir) / "report.html"
    return atomic_write_text(out, run_page(Path(run_dir)), mode=FILE_MODE)


def write_index(runs: list[Path], out_dir: Path) -> Path:
    """``out_dir/index.html`` (one row per run, linking its page) and ``out_dir/runs/<n>.html`` per run."""
    out_dir = Path(out_dir)
    found = sorted({p.parent for d in map(Path, runs)
                    for p in ([d / "run.json"] if (d / "run.json").exists() else d.rglob("run.json"))})
    rows = []
    for k, d in enumerate(found):
        run, trace, ev = _load(d)
        page = write_run_page(d, out_dir / "runs" / f"{k:04d}.html")
        score = f"{ev.validation:.2f} / {ev.test:.2f}" if ev else "–"
        fails = sum(e.status == "failed" for e in trace)
        rows.append(f"<tr><td><a href='{_e(page.relative_to(out_dir))}'>{_e(run.run_id)}</a></td><td>{_e(run.spec.task)}</td>"
                    f"<td>{_e(run.spec.agent)}</td><td>{_e(run.llm.backbone_label if run.spec.backbone != 'none' else 'none')}</td>"
                    f"<td>{_e(run.status)}</td><td>{run.iterations}</td><td>{fails}</td><td>{score}</td></tr>")
    body = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>ftdojo runs</title><style>{CSS}</style>"
            f"</head><body><h1>Runs ({len(found)})</h1><table><tr><th>run</th><th>task</th><th>agent</th><th>backbone</th>"
            "<th>status</th><th>iterations</th><th>failed</th><th>validation / test</th></tr>" + "".join(rows)
            + "</table></body></html>")
    return atomic_write_text(out_dir / "index.html", body, mode=FILE_MODE)
