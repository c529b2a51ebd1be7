"""Per-run HTML reports: content from the records, self-contained, and clean in headless Chromium.

The Chromium test skips with the reason when the Debian package `chromium` is absent (`.ci/run`
installs it: `apt-get install -y --no-install-recommends chromium`).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from ftagent.records import LLMCall, TraceEntry
from ftagent.report.html import run_page, write_index, write_run_page
from tests.report.synthetic import write_run


def _run_with_details(tmp_path):
    d = write_run(tmp_path, "aime2025", "ft-agent", "scripted", test=13.3, validation=14.0, cost=1.5, tokens=3000,
                  trace=[("ok", 5.0, "accept"), ("ok", 9.0, "accept"), ("failed", None, None)])
    lines = []
    for i, ln in enumerate((d / "trace.jsonl").read_text().splitlines()):
        e = TraceEntry.model_validate_json(ln)
        (d / f"experiments/{e.experiment_id}").mkdir(parents=True, exist_ok=True)
        (d / f"experiments/{e.experiment_id}/process_data.py").write_text(
            f"import json\n# recipe {i}\nrows = load()\nkeep = rows[:{100 * (i + 1)}]\n")
        upd = {"parent_id": None if i == 0 else f"exp{i - 1:03d}", "hypothesis": f"try recipe {i}",
               "train_config": {"method": "lora", "learning_rate": 1e-4 / (i + 1)},
               "train": {"losses": [2.5 - 0.1 * k - 0.2 * i for k in range(12)]} if i < 2 else {},
               "llm_calls": [LLMCall(stage="plan/reason", messages=[{"role": "user", "content": "x"}], response="y",
                                     prompt_tokens=800, completion_tokens=200, prompt="plan_reason@v2")],
               "error": "ValueError: cosine_with_restarts is not supported" if e.status == "failed" else None}
        lines.append(e.model_copy(update=upd).model_dump_json())
    (d / "trace.jsonl").write_text("\n".join(lines) + "\n")
    return d


def test_run_page_content(tmp_path):
    d = _run_with_details(tmp_path)
    page = run_page(d)
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert 'id="timeline"' in page and 'id="loss"' in page and page.count("<polyline") == 2
    assert "FAILED CONFIG at micro_batch" in page and "val 9.0 · accept" in page
    assert "not an LLM" in page and "13.30" in page
    assert '<span class="add">+keep = rows[:200]</span>' in page  # data-script diff against the parent
    assert "learning_rate" in page and "plan_reason@v2" in page and "0.5000" in page  # 1.5 $ over 3 equal calls
    out = write_run_page(d)
    assert out == d / "report.html" and oct(out.stat().st_mode & 0o777) == "0o644"


def test_index_links_every_run(tmp_path):
    a = _run_with_details(tmp_path)
    b = write_run(tmp_path, "financeiq", "base-model", test=40.0)
    idx = write_index([tmp_path / "runs"], tmp_path / "html")
    text = idx.read_text()
    assert text.count("<tr><td><a href='runs/") == 2 and str(a) in text and str(b) in text
    assert len(list((tmp_path / "html/runs").glob("*.html"))) == 2


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run: apt-get install -y chromium)")
def test_run_page_in_headless_chromium(tmp_path):
    """No console errors; the DOM has the timeline and the loss curve; a screenshot is taken."""
    d = _run_with_details(tmp_path)
    page = write_run_page(d)
    profile = tmp_path / "profile"
    common = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run([*common, "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'id="timeline"' in dom.stdout and 'id="loss"' in dom.stdout
    console = [ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert not console, console
    shot = tmp_path / "report.png"
    subprocess.run([*common, "--hide-scrollbars", "--window-size=1200,1400", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, text=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000
    keep = tmp_path.parent / "html_report_screenshot.png"  # for a look by eye after the test
    shutil.copy(shot, keep)
    print(f"screenshot: {keep}")
    assert re.search(r"<polyline", dom.stdout)
