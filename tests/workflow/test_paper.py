"""paper/main.tex builds into a PDF with every table and figure of the registry (synthetic records, fast).

Needs a TeX engine (`.ci/run` installs Debian's texlive-latex-base, texlive-latex-recommended and latexmk);
skips with the reason otherwise. Without TeX, `snakemake paper` says so in one line (also tested).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from ftagent.report import build
from ftagent.report.registry import BUILDERS
from tests.report.synthetic import spec, write_run
from tests.workflow.conftest import ROOT, snakemake, workdir


def _records(root):
    repo = root / "repository"
    repo.mkdir(parents=True)
    (repo / "dataset_info.json").write_text('{"deepscaler": {"available": true, "count": 4000}}')
    runs = []
    for task, base in (("aime2025", 0.0), ("financeiq", 30.0), ("chemcotbench_mol_und", 20.0)):
        for seed in (0, 1):
            items = [float(i % 3 == 0) for i in range(12)]
            runs.append(write_run(root, task, "base-model", seed=seed, test=base, base=base, repository=repo,
                                  items=items, subsets={"s1": base, "s2": base}))
            runs.append(write_run(root, task, "ft-agent", "scripted", seed=seed, test=base + 5, base=base,
                                  repository=repo, items=[1.0] * 6 + items[6:], subsets={"s1": base + 5, "s2": base},
                                  trace=[("ok", base + 2, "accept"), ("ok", base + 1, "reject"), ("failed", None, None)]))
    caps = [write_run(root, "aime2025", "ft-agent", "scripted", cap=c, test=t) for c, t in ((100, 0.0), (400, 6.7))]
    return runs, caps


@pytest.mark.skipif(not (shutil.which("latexmk") or shutil.which("pdflatex")),
                    reason="no TeX engine (.ci/run installs texlive-latex-base texlive-latex-recommended latexmk)")
def test_paper_builds_with_every_artifact(tmp_path):
    runs, caps = _records(tmp_path / "results/mini")
    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    built = {}
    t0 = time.time()
    for name, art in cfg["artifacts"].items():
        kind = BUILDERS[art["builder"]].kind
        out = tmp_path / ("results/mini/tables" if kind == "table" else "figures/mini")
        group = caps if art["builder"] == "data_scaling" else runs
        build(spec(name, art["builder"], {e: group for e in art["experiments"]}, options=art.get("options", {})), out)
        built[name] = kind
    artifacts_s = time.time() - t0
    (tmp_path / "paper").mkdir()
    shutil.copy(ROOT / "paper/main.tex", tmp_path / "paper/main.tex")
    t0 = time.time()
    res = subprocess.run(
        [sys.executable, str(ROOT / "workflow/scripts/build_paper.py"), "--tex", "paper/main.tex", "--scale", "mini",
         "--out", "paper/build/mini/ftdojo.pdf"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    print(f"artifacts {artifacts_s:.1f} s, PDF {time.time() - t0:.1f} s")
    log = (tmp_path / "paper/build/mini/ftdojo.log").read_text(errors="replace")
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    pdf = tmp_path / "paper/build/mini/ftdojo.pdf"
    assert pdf.stat().st_size > 20_000
    pages = int(re.search(r"Output written on .*?\((\d+) pages", log, flags=re.S).group(1))
    print(f"PDF pages: {pages}")
    assert pages >= 4
    # every table and figure main.tex names was read (the recorder's input list)
    fls = (tmp_path / "paper/build/mini/ftdojo.fls").read_text()
    tex = (ROOT / "paper/main.tex").read_text()
    for name, kind in built.items():
        stem = name.split("_", 1)[1]
        if f"{{{stem}}}" not in tex:
            continue
        f = f"results/mini/tables/{stem}.tex" if kind == "table" else f"figures/mini/{stem}.pdf"
        assert f in fls, f


def test_paper_without_tex_says_so_in_one_line(tmp_path):
    """`snakemake paper` with no TeX engine on PATH: one line, also when there is nothing else to do."""
    wd = workdir(tmp_path, {"use_stored_results": True, "scales.mini.tasks": ["aime2025"]})
    out = snakemake(wd, "-n", "paper", extra_env={"FTDOJO_NO_TEX": "1"})  # as without latexmk/pdflatex
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("paper: no TeX engine")]
    assert len(lines) == 1 and "ftdojo.pdf is not" in lines[0]
