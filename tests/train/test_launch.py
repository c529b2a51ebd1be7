"""Launcher: port derivation, process count, checkpoints and resume, and torchrun runs on CPU."""

from __future__ import annotations

import json
import socket

import pytest

from ftagent.train import launch
from ftagent.train.config import TrainConfig

FAST = {"max_steps": 2, "per_device_train_batch_size": 8, "learning_rate": 3e-3, "logging_steps": 1}


# ---------------------------------------------------------------- port


@pytest.mark.parametrize(("job", "port"), [("0", 20000), ("1", 20001), ("123456", 23456), ("9999", 29999),
                                           ("10000", 20000)])
def test_job_port_derivation(job, port):
    assert launch.job_port(job) == port


def test_job_port_is_stable_in_range_and_spreads():
    ports = {launch.job_port(str(j)) for j in range(4242000, 4242100)}
    assert len(ports) == 100  # consecutive jobs never share a port
    assert all(launch.PORT_BASE <= p < launch.PORT_BASE + launch.PORT_SPAN for p in ports)
    assert launch.job_port("4242001") == launch.job_port(" 4242001\n")
    assert launch.job_port("4242001", offset=1) == launch.job_port("4242002")
    h = launch.job_port("abc_7")  # non-numeric ids are hashed, deterministically
    assert h == launch.job_port("abc_7") and launch.PORT_BASE <= h < launch.PORT_BASE + launch.PORT_SPAN


def test_master_port_from_slurm_job_when_free():
    env = {"SLURM_JOB_ID": "31337"}
    want = launch.job_port("31337")
    if not launch.port_free(want):
        pytest.skip(f"port {want} busy on this machine")
    assert launch.choose_master_port(env) == want


def test_master_port_falls_back_when_the_job_port_is_taken():
    job = "31338"
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", launch.job_port(job)))
        except OSError:
            pytest.skip("derived port busy on this machine")
        s.listen()
        port = launch.choose_master_port({"SLURM_JOB_ID": job})
        assert port != launch.job_port(job) and launch.port_free(port)


def test_master_port_without_slurm_is_free():
    port = launch.choose_master_port({})
    assert launch.port_free(port)


# ---------------------------------------------------------------- processes, command


@pytest.mark.parametrize(("visible", "n"), [("0,1,2,3", 4), ("3", 1), ("", 1), ("-1", 1), ("GPU-aa,GPU-bb", 2)])
def test_nproc_from_visible_devices(visible, n):
    assert launch.detect_nproc({"CUDA_VISIBLE_DEVICES": visible}) == n


def test_nproc_without_cuda_is_one_process():
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA machine")
    assert launch.detect_nproc({}) == 1


def test_command_line():
    cmd = launch.build_command(2, 24567, ["--config", "c.yaml"])
    assert cmd[1:3] == ["-m", "torch.distributed.run"]
    assert "--nproc_per_node=2" in cmd and "--master_port=24567" in cmd and "--nnodes=1" in cmd
    assert cmd[-4:] == ["-m", "ftagent.train.worker", "--config", "c.yaml"]


# ---------------------------------------------------------------- checkpoints and resume


def _checkpoint(root, step, complete=True):
    d = root / "checkpoints" / f"checkpoint-{step}"
    d.mkdir(parents=True)
    if complete:
        (d / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return d


def test_find_checkpoint_takes_the_last_complete_one(tmp_path):
    assert launch.find_checkpoint(tmp_path / "checkpoints") is None
    _checkpoint(tmp_path, 50)
    c100 = _checkpoint(tmp_path, 100)
    _checkpoint(tmp_path, 150, complete=False)  # killed while saving
    (tmp_path / "checkpoints" / "checkpoint-last").mkdir()
    assert launch.find_checkpoint(tmp_path / "checkpoints") == c100


def test_resume_only_the_same_launch(tmp_path, sft_data):
    cfg = TrainConfig(save_steps=50)
    fp = launch.fingerprint(cfg, tmp_path, sft_data, 2000)
    assert fp == launch.fingerprint(cfg, tmp_path, sft_data, 2000)
    (tmp_path / "launch.json").write_text(json.dumps({"fingerprint": fp}))
    c = _checkpoint(tmp_path, 100)
    assert launch._resume_point(tmp_path, fp) == c
    other = launch.fingerprint(cfg.model_copy(update={"learning_rate": 1e-5}), tmp_path, sft_data, 2000)
    assert other != fp
    assert launch._resume_point(tmp_path, other) is None
    assert not (tmp_path / "checkpoints").exists()  # stale checkpoints of another launch are discarded


# ---------------------------------------------------------------- real torchrun runs (CPU)


def test_torchrun_micro_run(tiny_model, sft_data, tmp_path):
    res = launch.launch_training(TrainConfig(method="lora", **FAST), tiny_model, sft_data, tmp_path, micro=True,
                                 nproc_per_node=1, threads=2, timeout_s=300)
    assert res.ok, res.log_tail
    assert res.steps == 2 and res.extra["world_size"] == 1
    assert "torch.distributed.run" in (tmp_path / "train.log").read_text()
    meta = json.loads((tmp_path / "launch.json").read_text())
    assert meta["nproc_per_node"] == 1 and launch.PORT_BASE > 0 < meta["master_port"]


def test_torchrun_failure_is_classified(tiny_model, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"instruction": "no output field"}]')
    res = launch.launch_training(TrainConfig(**FAST), tiny_model, bad, tmp_path / "out", micro=True,
                                 nproc_per_node=1, timeout_s=300)
    assert not res.ok and res.failure_class == "DATA"
    assert res.error.startswith("DataError: record 0") and "\n" not in res.error
    assert res.log_tail and res.extra["returncode"] != 0


def test_torchrun_timeout(tiny_model, sft_data, tmp_path):
    res = launch.launch_training(TrainConfig(**FAST), tiny_model, sft_data, tmp_path, nproc_per_node=1,
                                 timeout_s=1)
    assert not res.ok and res.failure_class == "TIMEOUT" and "timed out after 1 s" in res.error


@pytest.mark.slow
def test_requeued_run_resumes_from_its_checkpoint(tiny_model, sft_data, tmp_path):
    cfg = TrainConfig(method="full", max_steps=4, save_steps=2, per_device_train_batch_size=8,
                      learning_rate=3e-3, logging_steps=1)
    first = launch.launch_training(cfg, tiny_model, sft_data, tmp_path, nproc_per_node=2, threads=1)
    assert first.ok, first.log_tail
    assert launch.find_checkpoint(tmp_path / "checkpoints").name == "checkpoint-4"
    # a requeue after training finished reuses the result
    again = launch.launch_training(cfg, tiny_model, sft_data, tmp_path, nproc_per_node=2, threads=1)
    assert again.ok and again.extra.get("reused") is True
    # a requeue after a crash (no result) continues from the checkpoint
    (tmp_path / "train_result.json").unlink()
    resumed = launch.launch_training(cfg, tiny_model, sft_data, tmp_path, nproc_per_node=2, threads=1)
    assert resumed.ok, resumed.log_tail
    assert resumed.extra["resumed_from"].endswith("checkpoint-4")
