"""Failure classifier on recorded log snippets of each class."""

from __future__ import annotations

import pytest

from ftagent.train.failures import classify_failure, error_lines, error_summary

CUDA_OOM = """\
{'loss': 1.2345, 'grad_norm': 3.1, 'learning_rate': 9.8e-05, 'epoch': 0.1}
Traceback (most recent call last):
  File "/opt/ftagent/ftagent/train/worker.py", line 47, in main
    res = train_sft(cfg, args.model, args.data, args.out, sample_cap=args.sample_cap, micro=args.micro,
  File "/opt/conda/lib/python3.11/site-packages/torch/nn/modules/linear.py", line 125, in forward
    return F.linear(input, self.weight, self.bias)
torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.16 GiB. GPU 0 has a total capacity of 79.11 GiB \
of which 512.00 MiB is free. Including non-PyTorch memory, this process has 78.60 GiB memory in use.
[rank0]:[W1129 10:01:02.123 ProcessGroupNCCL.cpp:1250] Warning: WARNING: process group has NOT been destroyed
"""

CPU_ALLOC = """\
Traceback (most recent call last):
  File "/work/ftagent/train/sft.py", line 212, in train_sft
    trainer.train()
RuntimeError: [enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: you tried to \
allocate 11811160064 bytes. Error code 12 (Cannot allocate memory)
"""

TORCHRUN_SIGKILL = """\
Loading weights: 100%|##########| 339/339 [00:05<00:00, 60.1it/s]
W1129 10:03:44.555000 4242 torch/distributed/elastic/multiprocessing/api.py:900] Sending process 4250 closing signal SIGTERM
E1129 10:03:45.001000 4242 torch/distributed/elastic/multiprocessing/api.py:874] failed (exitcode: -9) local_rank: 1 (pid: 4251) of binary: /usr/bin/python
torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
============================================================
ftagent.train.worker FAILED
------------------------------------------------------------
Root Cause (first observed failure):
[0]:
  time      : 2026-11-29_10:03:45
  host      : gpu-node-07
  rank      : 1 (local_rank: 1)
  exitcode  : -9 (pid: 4251)
  error_file: <N/A>
  traceback : Signal 9 (SIGKILL) received by PID 4251
============================================================
"""

SLURM_OOM = "slurmstepd: error: Detected 1 oom_kill event in StepId=123456.0. Some of the step tasks have been OOM Killed.\n"

CONFIG = """\
Traceback (most recent call last):
  File "/work/ftagent/train/sft.py", line 150, in train_sft
    raise ConfigError("training config key 'method': qlora needs a CUDA GPU (bitsandbytes 4-bit)")
ftagent.errors.ConfigError: training config key 'method': qlora needs a CUDA GPU (bitsandbytes 4-bit)
"""

CONFIG_KWARG = "TypeError: SFTConfig.__init__() got an unexpected keyword argument 'packing_strategy_x'\n"

NAN_LOSS = "post-training check: training loss is not finite (nan at logged step 3)"

DATA = """\
Generating train split: 0 examples [00:00, ? examples/s]
Traceback (most recent call last):
  File "/work/ftagent/train/data.py", line 40, in read_records
    raise DataError(f"training data {path} is not valid JSON or JSON lines ({e.msg})") from None
ftagent.errors.DataError: training data /ws/exp1/data.json is not valid JSON or JSON lines (Expecting value)
"""

DATA_KEY = """\
  File "/ws/exp1/process_data.py", line 12, in <module>
    out.append({"instruction": row["question"], "output": row["answer"]})
KeyError: 'answer'
"""

NCCL = """\
[rank3]: Traceback (most recent call last):
[rank3]: torch.distributed.DistBackendError: NCCL error in: ../torch/csrc/distributed/c10d/NCCLUtils.hpp:317, \
unhandled system error (run with NCCL_DEBUG=INFO for details), NCCL version 2.21.5
[rank3]: ncclSystemError: System call (e.g. socket, malloc) or external library call failed or device error.
"""

NO_MODULE = """\
Traceback (most recent call last):
  File "/work/ftagent/train/sft.py", line 3, in <module>
    import deepspeed
ModuleNotFoundError: No module named 'deepspeed'
"""

PORT_IN_USE = """\
[W1129 10:00:00.000000000 socket.cpp:755] [c10d] The server socket has failed to listen on [::]:29500 \
(errno: 98 - Address already in use).
torch.distributed.DistNetworkError: The server socket has failed to listen on any local network address. \
port: 29500, useIpv6: false, code: -98, name: EADDRINUSE, message: address already in use
"""

RENDEZVOUS_TIMEOUT = ("torch.distributed.DistNetworkError: The client socket has timed out after 1800s while "
                      "trying to connect to (10.0.0.7, 24711).\n")

SLURM_TIMEOUT = "slurmstepd: error: *** JOB 123456 ON gpu-node-07 CANCELLED AT 2026-11-29T22:00:01 DUE TO TIME LIMIT ***\n"

DS_BUILD = """\
Using /root/.cache/torch_extensions/py311_cu124 as PyTorch extensions root...
RuntimeError: Error building extension 'fused_adam'
"""

NORMAL_NOISE = """\
***** Running training *****
  Num examples = 2,000 | loading training data from data.json
{'loss': 0.91, 'grad_norm': 1.2, 'learning_rate': 5e-05, 'epoch': 1.0}
"""


@pytest.mark.parametrize(("log", "rc", "cls"), [
    (CUDA_OOM, 1, "OOM"),
    (CPU_ALLOC, 1, "OOM"),
    (TORCHRUN_SIGKILL, 1, "OOM"),
    (SLURM_OOM, 137, "OOM"),
    ("Killed\n", 137, "OOM"),
    ("", -9, "OOM"),
    (CONFIG, 1, "CONFIG"),
    (CONFIG_KWARG, 1, "CONFIG"),
    (NAN_LOSS, 3, "CONFIG"),
    (DATA, 1, "DATA"),
    (DATA_KEY, 1, "DATA"),
    (NCCL, 1, "ENV"),
    (NO_MODULE, 1, "ENV"),
    (PORT_IN_USE, 1, "ENV"),
    (RENDEZVOUS_TIMEOUT, 1, "ENV"),
    (DS_BUILD, 1, "ENV"),
    (SLURM_TIMEOUT, 0, "TIMEOUT"),
    ("", 1, "ENV"),
])
def test_recorded_snippets(log, rc, cls):
    assert classify_failure(log, rc) == cls


def test_harness_timeout_wins():
    assert classify_failure(CUDA_OOM, -15, timed_out=True) == "TIMEOUT"


def test_error_lines_decide_before_normal_log_lines():
    # "training data" in a normal progress line must not make an OOM crash a DATA failure
    assert classify_failure(NORMAL_NOISE + CUDA_OOM, 1) == "OOM"
    assert classify_failure(NORMAL_NOISE + NCCL, 1) == "ENV"
    assert "loading training data" not in error_lines(NORMAL_NOISE + NCCL)


def test_error_summary_is_the_last_exception_line():
    assert error_summary(CUDA_OOM).startswith("torch.OutOfMemoryError: CUDA out of memory")
    assert error_summary(NO_MODULE) == "ModuleNotFoundError: No module named 'deepspeed'"
    assert error_summary("") == ""


def test_error_summary_strips_rank_prefix():
    assert error_summary(NCCL).startswith("ncclSystemError: System call")
    assert error_summary(NCCL.rsplit("\n", 2)[0]).startswith("torch.distributed.DistBackendError: NCCL error")
