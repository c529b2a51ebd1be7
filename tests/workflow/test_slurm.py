"""The SLURM side of the workflow.

The shipped profile (found from the repository root), the sbatch lines it makes for GPU rules (captured
by a fake sbatch), unset site settings, and the reduced mini workflow end to end on a real one-node SLURM
on localhost (marked `slurm`) giving the same tables as the local run.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.workflow.conftest import REDUCED, ROOT, snakemake, workdir

SITE = {
    "FTDOJO_SLURM_ACCOUNT": "acct1",
    "FTDOJO_SLURM_PARTITION": "cpuq",
    "FTDOJO_SLURM_GPU_PARTITION": "gpuq",
}
PAPER_RUN = "results/paper/runs/aime2025/ft-agent/gpt-5/qwen2.5-7b-instruct/n2000/s0"
PAPER_RUN_3B = "results/paper/runs/financeiq/ft-agent/gpt-5/qwen2.5-3b-instruct/n2000/s0"
PAPER_RUN_7B_DONE = "results/paper/runs/financeiq/ft-agent/gpt-5/qwen2.5-7b-instruct/n2000/s0"
FAST = ["--slurm-init-seconds-before-status-checks", "1"]


def _exe(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def fake_slurm(tmp_path):
    """A PATH folder whose sbatch records its command line and fails; other SLURM tools are inert."""
    bin_dir, log = tmp_path / "fakebin", tmp_path / "sbatch.log"
    bin_dir.mkdir()
    _exe(
        bin_dir / "sbatch", f'#!/bin/sh\necho "sbatch $*" >> {log}\necho "sbatch: error: fake" >&2\nexit 1\n'
    )
    for tool in ("squeue", "sacct", "scontrol", "sinfo", "sshare", "srun"):
        _exe(bin_dir / tool, "#!/bin/sh\nexit 1\n")
    _exe(bin_dir / "sacctmgr", '#!/bin/sh\necho "$FTDOJO_SLURM_ACCOUNT"\n')  # the account is valid
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}, log


def _paper_inputs(wd: Path) -> None:
    """Existing inputs of the paper runs, so that the first jobs submitted are GPU jobs."""
    for f in (  # in dependency order: the repository (built from data and model) is newest
        "data/hub/.fetched",
        "results/paper/models/qwen2.5-7b-instruct/config.json",
        "results/paper/models/qwen2.5-3b-instruct/config.json",
        "results/paper/repository/dataset_info.json",
    ):
        (wd / f).parent.mkdir(parents=True, exist_ok=True)
        (wd / f).touch()
        time.sleep(0.01)
    time.sleep(0.05)
    for run in (PAPER_RUN_3B, PAPER_RUN_7B_DONE):  # finished runs: their evaluations form one group job
        (wd / run).mkdir(parents=True)
        (wd / run / "run.json").touch()


def _sbatch_lines(log: Path) -> dict[str, str]:
    lines = log.read_text().splitlines() if log.exists() else []
    out = {}
    for line in lines:
        head = line.split(" --wrap=")[0]
        rule = "run_agent" if "rule_run_agent" in head else "evaluate_run" if "evaluate_run" in head else head
        out.setdefault(rule, head)
    return out


def test_profile_is_found_from_the_repository_root(tmp_path):
    """`snakemake --profile slurm` as the README writes it: the `slurm/` folder at the root."""
    assert (ROOT / "slurm" / "config.yaml").is_file()
    out = snakemake(workdir(tmp_path), "--profile", "slurm", "-n", extra_env=SITE)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Using profiles slurm and workflow specific profile" in out.stderr


def test_every_profile_key_is_commented():
    """Each key of the shipped profile has a comment line right above it."""
    import re

    lines = [ln for ln in (ROOT / "slurm/config.yaml").read_text().splitlines() if ln.strip()]
    for prev, line in zip(lines, lines[1:], strict=False):
        if re.match(r"^\s*[\w-]+:", line):
            assert prev.lstrip().startswith("#"), line


@pytest.mark.parametrize("request_style", ["gpus", "gres"])
def test_sbatch_lines_of_gpu_rules(tmp_path, fake_slurm, request_style):
    """GPU rules ask for the budget's GPUs as --gpus or --gres (profile switch), never --ntasks-per-gpu."""
    env, log = fake_slurm
    wd = workdir(tmp_path / "wd")
    prof = wd / "slurm/config.yaml"
    prof.write_text(prof.read_text().replace("  gpu_request: gpus", f"  gpu_request: {request_style}"))
    _paper_inputs(wd)
    out = snakemake(
        wd,
        "--profile",
        "slurm",
        "--config",
        "scale=paper",
        *FAST,
        "--",
        f"{PAPER_RUN}/run.json",
        f"{PAPER_RUN_3B}/eval.json",
        extra_env={**env, **SITE},
        timeout=300,
    )
    assert (
        out.returncode != 0 and "fake" in out.stdout + out.stderr
    )  # the fake sbatch refuses, after recording
    lines = _sbatch_lines(log)
    run, ev = lines["run_agent"], lines["evaluate_run"]
    if request_style == "gpus":
        assert "--gpus=4" in run and "--gpus=1" in ev and "--gres" not in run + ev
    else:
        assert "--gres=gpu:4" in run and "--gres=gpu:1" in ev and "--gpus" not in run + ev
    assert "--ntasks-per-gpu" not in run + ev
    assert "-A acct1" in run and "-p gpuq" in run and "-p gpuq" in ev
    assert (
        "-t 780" in run and "--mem 256000" in run and "--cpus-per-task=32" in run
    )  # 12 h + 60 min, paper-7b
    assert "--requeue" in run and "logs/slurm/rule_run_agent" in run
    assert "group_evaluate" in ev  # two evaluations in one allocation, one member at a time: 1 GPU, not 2


def test_unset_site_settings_leave_the_plugin_defaults(tmp_path, fake_slurm):
    """No account or partition exported: jobs are submitted without -A/-p (the plugin's defaults apply)."""
    env, log = fake_slurm
    for k in SITE:
        os.environ.pop(k, None)
    bin_dir = Path(env["PATH"].split(os.pathsep)[0])
    _exe(bin_dir / "sinfo", '#!/bin/sh\nprintf "PARTITION\\ndefq*\\ngpuq\\n"\n')  # the cluster's default: defq
    wd = workdir(tmp_path / "wd")
    _paper_inputs(wd)
    out = snakemake(
        wd, "--profile", "slurm", "--config", "scale=paper", *FAST, "--", f"{PAPER_RUN}/run.json",
        extra_env=env, timeout=300,
    )
    assert "Traceback" not in out.stderr
    for var in SITE:
        assert f"${var} is not set; the SLURM plugin's default applies" in out.stderr, var
    lines = _sbatch_lines(log)
    assert "run_agent" in lines, (lines, out.stderr[-3000:])
    run = lines["run_agent"]  # submitted (the fake sbatch then refuses)
    assert " -A " not in run and "$FTDOJO" not in run, run
    assert "-p defq" in run  # the plugin's default: the cluster's default partition
    assert "--gpus=4" in run


# --- a real one-node SLURM --------------------------------------------------------------------------------


def _sinfo_ok(env: dict[str, str]) -> bool:
    try:
        return subprocess.run(["sinfo", "-h"], env={**os.environ, **env}, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A running SLURM: `$SLURM_CONF`'s (e.g. .ci/run's), else one .ci/slurm/start.sh starts and stops.

    Skips with the reason when neither works.
    """
    if os.environ.get("SLURM_CONF") and _sinfo_ok(dict(os.environ)):
        yield {"SLURM_CONF": os.environ["SLURM_CONF"]}
        return
    if shutil.which("slurmctld") is None or shutil.which("munged") is None:
        pytest.skip("slurm-wlm/munge not installed (.ci/run installs them: apt-get install slurm-wlm munge)")
    if os.geteuid() != 0:
        pytest.skip("starting a local SLURM needs root (slurmd runs jobs as their users)")
    state = tmp_path_factory.mktemp("slurm")
    start = subprocess.run(
        [str(ROOT / ".ci/slurm/start.sh"), str(state)], capture_output=True, text=True, timeout=300
    )
    if start.returncode != 0:
        subprocess.run([str(ROOT / ".ci/slurm/stop.sh"), str(state)], timeout=60)
        pytest.skip(f"local SLURM did not start: {start.stderr.strip()[-300:]}")
    try:
        yield {"SLURM_CONF": str(state / "slurm.conf")}
    finally:
        subprocess.run([str(ROOT / ".ci/slurm/stop.sh"), str(state)], timeout=60)


def _test_profile(wd: Path) -> str:
    """The shipped profile adapted to a cluster without accounting: no account, squeue status checks."""
    cfg = yaml.safe_load((wd / "slurm/config.yaml").read_text())
    cfg["default-resources"].pop("slurm_account")
    cfg |= {
        "slurm-no-account": True,
        "slurm-status-command": "squeue",
        "slurm-init-seconds-before-status-checks": 2,
        "jobs": 4,
        "latency-wait": 5,
        "group-components": ["evaluate=2"],
        "retries": 0,
    }
    (wd / "slurm-test").mkdir()
    (wd / "slurm-test/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return "slurm-test"


def _same_table(a: Path, b: Path) -> None:
    x, y = pd.read_csv(a), pd.read_csv(b)
    assert list(x.columns) == list(y.columns) and len(x) == len(y), (a, x, y)
    num = x.select_dtypes("number").columns
    pd.testing.assert_frame_equal(x.drop(columns=num), y.drop(columns=num))
    pd.testing.assert_frame_equal(x[num], y[num], check_exact=False, rtol=1e-6, atol=1e-6)


@pytest.mark.slurm
def test_reduced_workflow_on_local_slurm_matches_local_run(slurm_cluster, tmp_path, reduced_run):
    """Runs and (grouped) evaluations go through sbatch with a fake GPU each; tables equal the local run's."""
    local, _, local_out = reduced_run
    assert local_out.returncode == 0, local_out.stderr[-2000:]
    wd = workdir(
        tmp_path, REDUCED, registries={"budgets": {"mini-cpu.gpus_per_run": 1, "mini-cpu.eval_gpus": 1}}
    )
    # the deterministic CPU preparation (data, tiny model, repository) is the local run's, with its mtimes
    for d in ("data", "models", "repository"):
        shutil.copytree(local / "results/mini" / d, wd / "results/mini" / d)
    profile = _test_profile(wd)
    env = {**slurm_cluster, "FTDOJO_SLURM_PARTITION": "debug", "FTDOJO_SLURM_GPU_PARTITION": "debug"}
    t0 = time.time()
    out = snakemake(wd, "--profile", profile, timeout=900, extra_env=env)
    wall = time.time() - t0
    print(f"SLURM e2e: {wall:.0f} s")
    assert out.returncode == 0, (out.stdout + out.stderr)[-5000:]
    text = out.stdout + out.stderr
    assert "Job stats" in text and "run_agent" in text and "SLURM run ID" in text
    for rule in ("mini_data", "tiny_model", "repository"):
        assert f"rule {rule}:" not in text
    for f in (
        "results/mini/tables/main.csv",
        "figures/mini/trajectories.csv",
        "figures/mini/main_scores.csv",
    ):
        _same_table(local / f, wd / f)
    # the fake GRES GPUs reached the jobs (gpu_slots logs the devices it got into each job's log)
    runs = sorted((wd / "results/mini/runs").rglob("s0"))
    for r in runs:
        for log in ("run.log", "eval.log"):
            assert "gpu_slots: CUDA_VISIBLE_DEVICES=" in (r / log).read_text(), r / log
    # evaluations share allocations (group-components evaluate=4, group_slot: one member at a time, one GPU):
    # every run's evaluation ran in a group job and fewer allocations than evaluations were used (how many
    # share one depends on when the runs finish)
    logs = list((wd / "logs/slurm/group_evaluate_evaluate_run").glob("*.log"))
    held = [set(re.findall(r"runs/aime2025/([a-z-]+)/", p.read_text())) for p in logs]
    assert set().union(*held) == {r.parents[3].name for r in runs}, held
    assert 1 <= len(logs) < len(runs) and max(len(h) for h in held) > 1, held
