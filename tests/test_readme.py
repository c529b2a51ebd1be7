"""The README's commands as written: every fenced command of "Quick start" and "Rebuilding" runs, or its dry run does.

Set-up commands that need root or the network (apt-get, pip) are checked statically (shell syntax, no
``sudo``, the CPU wheel index, the extras exist); Snakemake commands run with ``-n`` in a copy of the
workflow, and ``snakemake table_main`` runs for real from stored (synthetic) records, as written (no
``--cores``).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.report.synthetic import write_run
from tests.workflow.conftest import ROOT, job_counts, snakemake, workdir

SECTIONS = ("Quick start", "Rebuilding")


def readme_commands(sections: tuple[str, ...] = SECTIONS) -> list[tuple[str, str]]:
    """(section, command) for each command line of the ``bash`` blocks of the named ``##`` sections.

    A command is one non-comment line with its trailing comment removed; ``a && b`` stays one command.
    """
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    out = []
    for part in re.split(r"^## ", text, flags=re.M)[1:]:
        title = part.splitlines()[0]
        if not title.startswith(sections):
            continue
        for block in re.findall(r"```bash\n(.*?)```", part, flags=re.S):
            for line in block.splitlines():
                cmd = " ".join(shlex.split(line, comments=True))
                if cmd:
                    out.append((title, line.split(" #")[0].strip()))
    return out


def test_sections_have_commands():
    cmds = [c for _, c in readme_commands()]
    assert any(c.startswith("snakemake --cores all") for c in cmds)
    assert "snakemake table_main" in cmds and "pytest" in cmds
    assert not any("sudo" in c for c in cmds)


def test_setup_commands_as_written():
    """apt-get, venv and pip lines: valid shell, no sudo, torch from the CPU index, extras that exist."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for _, cmd in readme_commands():
        if cmd.split()[0] in ("apt-get", "python3", "pip"):
            assert subprocess.run(["bash", "-n", "-c", cmd]).returncode == 0, cmd
        if cmd.startswith("apt-get"):
            assert cmd.startswith("apt-get update && apt-get install -y "), cmd
            if shutil.which("apt-get"):  # a simulation needs neither root nor the network
                pkgs = cmd.split("install -y ", 1)[1].split()
                sim = subprocess.run(["apt-get", "-s", "install", "-y", *pkgs], capture_output=True, text=True)
                assert sim.returncode == 0 or "Unable to locate" not in sim.stderr, sim.stderr[-500:]
        if cmd.startswith("pip install torch"):
            assert "--index-url https://download.pytorch.org/whl/cpu" in cmd
            assert "torch>=" in " ".join(pyproject["project"]["dependencies"])
        if cmd.startswith("pip install -e"):
            extras = re.findall(r"\.\[([\w,]+)\]", cmd)[0].split(",")
            assert set(extras) <= set(pyproject["project"]["optional-dependencies"]), extras


@pytest.fixture(scope="module")
def dry_wd(tmp_path_factory):
    return workdir(tmp_path_factory.mktemp("readme_dry"))


@pytest.mark.parametrize("cmd", [c for _, c in readme_commands() if c.startswith("snakemake")])
def test_snakemake_commands_dry_run(dry_wd, cmd):
    """Each Snakemake command of the two sections, with -n."""
    args = shlex.split(cmd)[1:]
    out = snakemake(dry_wd, *args, "-n")
    text = out.stdout + out.stderr
    assert out.returncode == 0, (cmd, text[-2000:])
    assert "Traceback" not in text and ("Job stats" in text or "Nothing to be done" in text), cmd
    if "use_stored_results=true" in cmd:
        assert not {"run_agent", "evaluate_run"} & set(job_counts(text)), cmd
    if "tasks=" in cmd:
        assert "results/mini/runs/financeiq/" in text and "results/mini/runs/aime2025/" in text
        assert "results/mini/runs/chemcotbench" not in text


def test_table_main_runs_as_written_from_stored_records(tmp_path):
    """`snakemake table_main` exactly as written (no --cores), on stored records: the table is built."""
    wd = workdir(tmp_path, {"use_stored_results": True, "scales.mini.tasks": ["aime2025"]})
    write_run(wd / "results/mini", "aime2025", "base-model", test=3.3)
    assert "snakemake table_main" in [c for _, c in readme_commands()]
    out = snakemake(wd, "table_main")
    assert out.returncode == 0, (out.stdout + out.stderr)[-2000:]
    assert "Base Model" in (wd / "results/mini/tables/main.md").read_text()


def test_bad_task_selection_is_one_line(tmp_path):
    out = snakemake(workdir(tmp_path), "-n", "--config", "tasks=[aime2026]")
    assert out.returncode != 0 and "config: tasks: unknown task 'aime2026'" in out.stderr
    assert "Traceback" not in out.stderr


def test_data_info_without_data_dir_is_one_line(capsys):
    from ftagent.cli import main

    assert main(["data", "info"]) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: data info needs --data-dir") and len(err.splitlines()) == 1
