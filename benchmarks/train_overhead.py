"""Training wrapper overhead: :func:`ftagent.train.sft.train_sft` vs bare TRL ``SFTTrainer``, same config.

Bare is what a user would write: load tokenizer and model, ``Dataset.from_list`` of the same
prompt-completion records, ``SFTTrainer(...).train()``, ``save_model``. Ours adds data normalisation,
the config mapping, live log lines, the result record and the post-training checks (loss history,
saved tensors, chat template, and the reload check that recomputes a probe loss). Each variant runs
end to end (loading included), alternating, best of ``--repeats``; ours is timed with and without the
reload check.

Each run is timed in wall-clock and in CPU time of this process (``time.process_time``, all threads):
on a shared machine other jobs stretch wall time by several times, CPU time much less. One torch
thread by default, so CPU time is close to wall time on an idle machine.

Prints ``overhead ours/bare - 1`` (goal <= 5%). Usage::

    PYTHONPATH=. python benchmarks/train_overhead.py [--steps 30] [--method lora] [--repeats 3]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from _common import data_file, tiny_model


def bare_sft(cfg, model_dir: Path, data: Path, out: Path) -> None:
    """The same training with TRL and PEFT directly."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from ftagent.train.data import load_training_data

    records = load_training_data(data)
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir))
    # every setting the engine passes, spelled out: TRL's own defaults differ (gradient checkpointing
    # and bf16 on), and a benchmark against different settings would measure them, not the wrapper
    args = SFTConfig(output_dir=str(out / "checkpoints"), per_device_train_batch_size=cfg.per_device_train_batch_size,
                     gradient_accumulation_steps=cfg.gradient_accumulation_steps, learning_rate=cfg.learning_rate,
                     max_steps=cfg.max_steps, lr_scheduler_type=cfg.lr_scheduler_type, warmup_steps=cfg.warmup_ratio,
                     weight_decay=cfg.weight_decay, max_grad_norm=cfg.max_grad_norm,
                     gradient_checkpointing=cfg.gradient_checkpointing, completion_only_loss=cfg.completion_only_loss,
                     max_length=cfg.cutoff_len, logging_steps=cfg.logging_steps, logging_first_step=True,
                     save_strategy="no", report_to=[], use_cpu=True, bf16=False, dataloader_num_workers=0,
                     disable_tqdm=True, seed=cfg.seed)
    peft = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, target_modules=cfg.lora_target,
                      task_type="CAUSAL_LM") if cfg.adapter else None
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(records), processing_class=tok,
                         peft_config=peft)
    trainer.train()
    trainer.save_model(str(out / "model"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--method", default="lora", choices=["lora", "full"])
    p.add_argument("--samples", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "ftagent-bench")
    a = p.parse_args()

    import torch

    from ftagent.train.config import TrainConfig
    from ftagent.train.sft import train_sft

    torch.set_num_threads(a.threads)
    a.workdir.mkdir(parents=True, exist_ok=True)
    model, data = tiny_model(a.workdir), data_file(a.workdir, a.samples)
    cfg = TrainConfig(method=a.method, max_steps=a.steps, per_device_train_batch_size=8, learning_rate=3e-3,
                      logging_steps=5, cutoff_len=256)
    times: dict[str, list[float]] = {"bare": [], "ours": [], "ours_no_reload": []}
    cpu: dict[str, list[float]] = {k: [] for k in times}
    runs = {"bare": lambda out: bare_sft(cfg, model, data, out),
            "ours": lambda out: train_sft(cfg, model, data, out, threads=a.threads),
            "ours_no_reload": lambda out: train_sft(cfg, model, data, out, threads=a.threads, reload_check=False)}
    runs["bare"](a.workdir / "warmup")  # first-call imports and caches are not anyone's overhead
    for _ in range(a.repeats):
        for name, run in runs.items():
            out = a.workdir / f"run_{name}"
            shutil.rmtree(out, ignore_errors=True)
            t, c = time.perf_counter(), time.process_time()
            run(out)
            times[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    best, best_cpu = {k: min(v) for k, v in times.items()}, {k: min(v) for k, v in cpu.items()}
    print(f"method={a.method} steps={a.steps} samples={a.samples} repeats={a.repeats} threads={a.threads}")
    for k in times:
        print(f"{k:15s} best wall {best[k]:.3f} s, cpu {best_cpu[k]:.3f} s  "
              f"(wall all: {', '.join(f'{x:.2f}' for x in times[k])})")
    for label, b in (("wall", best), ("cpu", best_cpu)):
        print(f"[{label}] overhead ours/bare - 1 = {b['ours'] / b['bare'] - 1:+.1%}  (goal <= 5%); "
              f"without the reload check {b['ours_no_reload'] / b['bare'] - 1:+.1%}")


if __name__ == "__main__":
    main()
