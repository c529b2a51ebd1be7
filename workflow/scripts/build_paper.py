r"""Build the paper PDF from the repository root.

    python workflow/scripts/build_paper.py --tex paper/main.tex --scale mini --out paper/build/mini/ftdojo.pdf

``paper/main.tex`` reads the scale from ``\ftscale`` (defined here on the engine's command line) and
``\input``s ``results/<scale>/tables/*.tex`` and includes ``figures/<scale>/*.pdf`` relative to the
repository root. latexmk is preferred; pdflatex is run twice otherwise.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the engine's exit status."""
    p = argparse.ArgumentParser()
    p.add_argument("--tex", required=True)
    p.add_argument("--scale", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    out = Path(a.out)
    build = out.parent
    build.mkdir(parents=True, exist_ok=True)
    pre = rf"\def\ftscale{{{a.scale}}}\input{{{a.tex}}}"
    job = out.stem
    if shutil.which("latexmk"):
        cmd = [
            "latexmk",
            "-pdf",
            "-interaction=nonstopmode",
            "-halt-on-error",
            f"-outdir={build}",
            f"-jobname={job}",
            f"-usepretex=\\def\\ftscale{{{a.scale}}}",
            a.tex,
        ]
        rc = subprocess.call(cmd)
    elif shutil.which("pdflatex"):
        cmd = [
            "pdflatex",
            "-interaction=nonstopmode",
            "-halt-on-error",
            f"-output-directory={build}",
            f"-jobname={job}",
            pre,
        ]
        rc = subprocess.call(cmd) or subprocess.call(cmd)
    else:
        print("build_paper: no TeX engine (latexmk or pdflatex) on PATH", file=sys.stderr)
        return 1
    return rc if rc else (0 if out.exists() else 1)


if __name__ == "__main__":
    sys.exit(main())
