"""GPU check of the training and evaluation engine (one lent GPU machine, under 8 minutes, offline).

What it runs, on a randomly initialised Qwen2-architecture model of ~0.48B parameters (Qwen2.5-0.5B's
depth with width 1024, 16 query / 4 KV heads, MLP 5632; the vocabulary is the ~1k-token BPE trained
here, so no tokenizer or weights are downloaded):

1. LoRA (r=16, all linear layers) with DeepSpeed ZeRO-2, ``--steps`` updates;
2. full fine-tuning with DeepSpeed ZeRO-3, ``--steps`` updates;

both through :func:`ftagent.train.launch.launch_training` (``torchrun``, one process per visible GPU),
with the engine's post-training checks (the saved model reloads with the same loss). It prints the
steady-state training throughput (tokens/s, updates after the first) and the model FLOPs utilisation
(MFU) against the GPU's dense bf16 peak. FLOPs per token: full fine-tuning ``6N + 12 L d T``, LoRA
``4N + 8 L d T`` (no weight gradients for frozen weights), with N parameters, L layers, width d and
sequence length T (Kaplan et al. 2020; Chowdhery et al. 2022, appendix B).

3. Where vLLM is installed: greedy generation with the full fine-tuned model, and with the base model
   plus the LoRA adapter (the engine's probe proves the adapter is applied); prints generated tokens/s.
   Without vLLM it says so and skips.

Needs nothing beyond torch, transformers, peft, trl, deepspeed (and their own dependencies) and this
package (run from the repository root). Without deepspeed it trains without ZeRO and says so.

GPU machine::

    python scripts/gpu_check.py --out /tmp/gpu_check            # add --steps 30 to go faster

CPU smoke test (minutes, tiny model, one CPU process)::

    PYTHONPATH=. python scripts/gpu_check.py --cpu --tiny --out /tmp/gpu_check_smoke
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: Dense bf16 peak FLOP/s per GPU by name fragment (vendor datasheets, SXM parts, no sparsity).
PEAK_BF16 = {"H200": 989.4e12, "H100": 989.4e12, "H800": 989.4e12, "A100": 312e12, "A800": 312e12,
             "L40S": 362.05e12, "L40": 181e12, "A10": 125e12, "RTX 4090": 165.2e12}

#: (hidden, layers, heads, kv heads, intermediate) of the check model and of the --tiny smoke model.
SHAPES = {"gpu": (1024, 24, 16, 4, 5632), "tiny": (64, 2, 4, 2, 128)}


def log(msg: str) -> None:
    """Print with a timestamp, flushed (the output may be a pipe)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def build_model(out: Path, tiny: bool, seq_len: int) -> tuple[Path, int]:
    """Train a small BPE tokenizer and save a random-init Qwen2 model; returns (folder, parameters)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from ftagent.models.tiny import train_tokenizer

    if (out / "config.json").exists():
        from transformers import AutoConfig

        cfg = AutoConfig.from_pretrained(str(out))
        with torch.device("meta"):
            return out, sum(p.numel() for p in Qwen2ForCausalLM(cfg).parameters())
    rng = random.Random(0)
    corpus = [" ".join(str(rng.randint(0, 9999)) for _ in range(40)) + " plus equals sum answer" for _ in range(500)]
    tok = train_tokenizer(corpus, 1024)
    tok.model_max_length = seq_len
    hidden, layers, heads, kv, inter = SHAPES["tiny" if tiny else "gpu"]
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                      num_attention_heads=heads, num_key_value_heads=kv, max_position_embeddings=max(seq_len, 512),
                      tie_word_embeddings=True, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                      bos_token_id=None, rope_theta=1e6)
    model = Qwen2ForCausalLM(cfg).to(torch.bfloat16 if not tiny else torch.float32)
    n = sum(p.numel() for p in model.parameters())
    model.generation_config.eos_token_id, model.generation_config.pad_token_id = tok.eos_token_id, tok.pad_token_id
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out, n


def build_data(path: Path, n: int, digits: int) -> Path:
    """``n`` Alpaca records whose prompt is ``digits`` random digits (one token each) to add up."""
    rng = random.Random(1)
    rows = []
    for _ in range(n):
        xs = [rng.randint(0, 9) for _ in range(digits)]
        rows.append({"instruction": "Add: " + "".join(map(str, xs)), "output": str(sum(xs))})
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def flops_per_token(n_params: int, layers: int, hidden: int, seq_len: int, full: bool) -> float:
    """Training FLOPs per token (see the module docstring)."""
    return (6 * n_params + 12 * layers * hidden * seq_len) if full else (4 * n_params + 8 * layers * hidden * seq_len)


def peak_flops(override_tflops: float | None) -> tuple[float | None, str, int]:
    """(peak FLOP/s per device or None, device name, device count)."""
    import torch

    if not torch.cuda.is_available() or os.environ.get("CUDA_VISIBLE_DEVICES") == "":
        return (override_tflops * 1e12 if override_tflops else None), "cpu", 1
    name = torch.cuda.get_device_name(0)
    peak = next((v for k, v in PEAK_BF16.items() if k in name), None)
    return (override_tflops * 1e12 if override_tflops else peak), name, torch.cuda.device_count()


def train_run(label: str, cfg, model_dir: Path, data: Path, out: Path, nproc, env, n_params: int, shape,
              seq_len: int, peak: float | None, n_dev: int, timeout_s: float) -> dict:
    """Launch one training run and report throughput and MFU."""
    from ftagent.train.launch import launch_training

    log(f"{label}: {cfg.method}, ZeRO-{cfg.deepspeed or 'off'}, {cfg.max_steps} steps, "
        f"batch {cfg.per_device_train_batch_size} x {seq_len} tokens per device")
    t = time.time()
    res = launch_training(cfg, model_dir, data, out, nproc_per_node=nproc, timeout_s=timeout_s, env=env,
                          threads=None if env.get("CUDA_VISIBLE_DEVICES") != "" else 1, resume=False)
    wall = time.time() - t
    row = {"label": label, "ok": res.ok, "error": res.error, "failure_class": res.failure_class,
           "wall_s": round(wall, 1), "steps": res.steps, "train_runtime_s": res.train_runtime_s,
           "reload_loss": res.extra.get("reload_loss"), "probe_loss": res.extra.get("probe_loss"),
           "losses": res.losses[:3] + res.losses[-2:]}
    if not res.ok:
        log(f"{label}: FAILED [{res.failure_class}] {res.error}\n{res.log_tail[-1500:]}")
        return row
    tokens, step_s = res.extra.get("num_tokens"), res.extra.get("step_s_mean")
    if tokens and step_s and res.steps > 1:
        tps = tokens / res.steps / step_s
        fpt = flops_per_token(n_params, shape[1], shape[0], seq_len, cfg.method == "full")
        row.update(tokens_per_s=round(tps, 1), tokens_per_s_per_device=round(tps / n_dev, 1),
                   step_s=step_s, first_step_s=res.extra.get("first_step_s"),
                   mfu=round(tps * fpt / (peak * n_dev), 4) if peak else None)
    if row["reload_loss"] is None:
        log(f"{label}: WARNING the reload check did not run (no probe rows with label tokens)")
    mfu = f"{row['mfu']:.1%}" if row.get("mfu") is not None else "n/a (unknown peak)"
    log(f"{label}: ok in {wall:.0f} s wall; {row.get('tokens_per_s', 0):,.0f} tokens/s "
        f"({row.get('step_s', 0):.3f} s/update after the first); MFU {mfu}; "
        f"loss {res.losses[0]:.3f} -> {res.losses[-1]:.3f}; reload loss {row['reload_loss']}")
    return row


def vllm_run(label: str, model_dir: Path, adapter: Path | None, prompts: int, max_new: int) -> dict:
    """Greedy generation with vLLM; generated tokens/s."""
    from vllm import SamplingParams

    from ftagent.eval.vllm_backend import VLLMBackend

    log(f"vLLM {label}: starting the engine")
    t = time.time()
    backend = VLLMBackend(model_dir, adapter, batch_size=256, gpu_memory_utilization=0.4, max_model_len=2048,
                          seed=0)
    engine_s = time.time() - t
    convs = [[{"role": "user", "content": f"Add: {i * 7919 % 100000}"}] for i in range(prompts)]
    effect = backend.probe(convs) if backend.lora else None
    params = SamplingParams(temperature=0.0, max_tokens=max_new, ignore_eos=True, seed=0)
    t = time.time()
    outs = backend.llm.generate(backend.token_prompts(convs), params, lora_request=backend.lora_request(),
                                use_tqdm=False)
    gen_s = time.time() - t
    n_tok = sum(len(o.outputs[0].token_ids) for o in outs)
    row = {"label": label, "plan": backend.plan.mode if backend.plan else "full", "adapter_effect": effect,
           "prompts": prompts, "generated_tokens": n_tok, "generate_s": round(gen_s, 2),
           "tokens_per_s": round(n_tok / gen_s, 1), "engine_start_s": round(engine_s, 1)}
    log(f"vLLM {label}: {n_tok / gen_s:,.0f} generated tokens/s ({prompts} prompts x {max_new} tokens); "
        f"plan {row['plan']}; adapter effect {effect}")
    del backend, outs
    import gc

    import torch

    gc.collect()
    torch.cuda.empty_cache()
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the check; exit 0 when every part that ran succeeded."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("/tmp/ftagent-gpu-check"))
    p.add_argument("--cpu", action="store_true", help="force CPU (smoke test)")
    p.add_argument("--tiny", action="store_true", help="tiny model and few steps (smoke test)")
    p.add_argument("--steps", type=int, default=None, help="updates per training run (default 40; tiny 4)")
    p.add_argument("--seq-len", type=int, default=None, help="tokens per sequence (default 1024; tiny 64)")
    p.add_argument("--batch", type=int, default=None, help="sequences per device per update (default 16; tiny 4)")
    p.add_argument("--nproc", default="auto", help="training processes ('auto': one per GPU)")
    p.add_argument("--peak-tflops", type=float, default=None, help="peak dense bf16 TFLOP/s per device")
    p.add_argument("--vllm-prompts", type=int, default=256)
    p.add_argument("--vllm-max-new-tokens", type=int, default=128)
    p.add_argument("--skip-vllm", action="store_true")
    p.add_argument("--timeout-s", type=float, default=240, help="limit per training run")
    a = p.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if a.cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    steps = a.steps or (4 if a.tiny else 40)
    seq_len = a.seq_len or (64 if a.tiny else 1024)
    batch = a.batch or (4 if a.tiny else 16)
    a.out.mkdir(parents=True, exist_ok=True)
    env = {"CUDA_VISIBLE_DEVICES": ""} if a.cpu else {}

    import torch

    from ftagent.train.config import TrainConfig

    peak, device, n_dev = peak_flops(a.peak_tflops)
    has_ds = importlib.util.find_spec("deepspeed") is not None
    log(f"device {device} x {n_dev}; torch {torch.__version__}; deepspeed "
        f"{'installed' if has_ds else 'NOT installed: training without ZeRO'}")
    t0 = time.time()
    model_dir, n_params = build_model(a.out / "model", a.tiny, seq_len)
    shape = SHAPES["tiny" if a.tiny else "gpu"]
    log(f"model: random-init Qwen2, {n_params / 1e6:.1f}M parameters, {shape[1]} layers, width {shape[0]} "
        f"({time.time() - t0:.0f} s)")
    n_samples = steps * batch * (n_dev if a.nproc == "auto" else int(a.nproc))
    data = build_data(a.out / "data.json", n_samples, digits=seq_len - 40)  # prompt + answer fit seq_len
    gpu = device != "cpu"
    common = {"max_steps": steps, "per_device_train_batch_size": batch, "cutoff_len": seq_len, "logging_steps": 5,
              "bf16": gpu, "warmup_ratio": 0.0, "lr_scheduler_type": "constant"}
    runs = [("lora-zero2", TrainConfig(method="lora", lora_r=16, learning_rate=1e-3,
                                       deepspeed=2 if has_ds else None, **common)),
            ("full-zero3", TrainConfig(method="full", learning_rate=1e-4, deepspeed=3 if has_ds else None, **common))]
    report: dict = {"device": device, "devices": n_dev, "parameters": n_params, "seq_len": seq_len,
                    "batch_per_device": batch, "steps": steps, "deepspeed": has_ds, "train": [], "vllm": []}
    for label, cfg in runs:
        report["train"].append(train_run(label, cfg, model_dir, data, a.out / label, a.nproc, env, n_params, shape,
                                         seq_len, peak, n_dev, a.timeout_s))
    ok = all(r["ok"] for r in report["train"])

    if a.skip_vllm:
        log("vLLM: skipped (--skip-vllm)")
    elif importlib.util.find_spec("vllm") is None or not gpu:
        log(f"vLLM: skipped ({'vllm is not installed' if gpu else 'no GPU'}); evaluation would use the "
            "transformers backend")
    elif ok:
        try:
            report["vllm"].append(vllm_run("full fine-tuned", a.out / "full-zero3" / "model", None,
                                           a.vllm_prompts, a.vllm_max_new_tokens))
            report["vllm"].append(vllm_run("base + LoRA adapter", model_dir, a.out / "lora-zero2" / "model",
                                           a.vllm_prompts, a.vllm_max_new_tokens))
        except Exception as e:  # report, don't hide, and keep the training numbers
            ok = False
            report["vllm"].append({"error": f"{type(e).__name__}: {e}"})
            log(f"vLLM: FAILED {type(e).__name__}: {e}")
    report["total_s"] = round(time.time() - t0, 1)
    (a.out / "gpu_check.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    log(f"{'OK' if ok else 'FAILED'} in {report['total_s']:.0f} s; report {a.out / 'gpu_check.json'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
