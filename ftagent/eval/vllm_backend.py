"""vLLM generation on GPU nodes, behind the same interface as :class:`~ftagent.eval.generate.TransformersBackend`.

vLLM is imported only when a :class:`VLLMBackend` is built: it lives in its own environment
(``workflow/envs/vllm.yaml``) because it pins a CUDA torch and caps transformers, and it is never part
of the CPU install. Everything that decides *how* vLLM is driven is a plain function tested on CPU:

* **Adapter plan** (:func:`plan_adapter`). A LoRA adapter is served with a ``LoRARequest`` and
  ``max_lora_rank`` taken from its config (rounded up to a rank vLLM accepts), unless vLLM cannot
  apply it faithfully, in which case it is *merged* into the base weights first
  (:func:`merge_adapter`): ``modules_to_save`` (whole trained copies of layers), saved non-LoRA tensors
  (a resized embedding or head), a tokenizer larger than the base vocabulary, DoRA, or a rank above
  vLLM's maximum.
* **Proof the adapter is applied** (:func:`check_adapter_applied`). vLLM has been seen to ignore LoRA
  requests silently, so a "fine-tuned" score equals the base score (lm-evaluation-harness #2432;
  anchors-notes §D16). Before the first real generation the backend scores a probe set's first token
  with and without the adapter; identical log-probabilities mean the adapter is not applied and
  evaluation fails loudly. A merged model is checked when merging: its weights must differ from the
  base's.
* **Pinned decoding** (:func:`sampling_kwargs`): greedy (temperature 0) unless the base model's pinned
  setting says otherwise, a fixed seed, and ``max_tokens`` from the task; nothing falls back to vLLM's
  defaults. Prompts are rendered by the Hugging Face tokenizer's chat template and passed as token ids,
  exactly as the CPU backend builds them, so the template hash check of ``eval.json`` holds for both.

Batched vLLM outputs can differ slightly from one-at-a-time outputs even at temperature 0
(vllm #5898, LLaMA-Factory #7807; §D18): tables compare scores with a tolerance and record the vLLM
version in the provenance.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ftagent.eval.generate import Decoding, Messages

#: LoRA ranks vLLM's ``max_lora_rank`` accepts (vLLM ``LoRAConfig``); an adapter's rank is rounded up.
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
#: Conversations in the adapter probe.
PROBE_SIZE = 8
#: Smallest first-token log-probability change (nats) that proves an adapter is applied.
MIN_ADAPTER_EFFECT = 1e-4


class AdapterNotAppliedError(RuntimeError):
    """The fine-tuned model answers exactly like the base model: the adapter was not applied."""


@dataclass(frozen=True)
class AdapterPlan:
    """How an adapter is served.

    Attributes:
        mode: ``lora`` (a ``LoRARequest`` on the base model) or ``merge`` (merged weights, no LoRA).
        reason: Why (recorded in the evaluation log).
        max_lora_rank: ``max_lora_rank`` for the engine (``lora`` mode; 0 for ``merge``).
    """

    mode: Literal["lora", "merge"]
    reason: str
    max_lora_rank: int = 0


def read_adapter_config(adapter_dir: str | Path) -> dict[str, Any]:
    """The adapter's ``adapter_config.json``.

    Raises:
        FileNotFoundError: ``adapter_dir`` is not a PEFT adapter.
    """
    return json.loads((Path(adapter_dir) / "adapter_config.json").read_text(encoding="utf-8"))


def adapter_rank(config: dict[str, Any]) -> int:
    """The largest LoRA rank of an adapter config (``r`` and any ``rank_pattern`` override)."""
    ranks = [int(config.get("r") or 0), *(int(v) for v in (config.get("rank_pattern") or {}).values())]
    return max(ranks)


def vllm_max_lora_rank(rank: int) -> int | None:
    """The smallest rank in :data:`VLLM_LORA_RANKS` that is >= ``rank`` (None when none is)."""
    return next((r for r in VLLM_LORA_RANKS if r >= rank), None)


def _saved_tensor_names(adapter_dir: Path) -> list[str]:
    files = sorted(adapter_dir.glob("*.safetensors"))
    if not files:
        return []
    from safetensors import safe_open

    names: list[str] = []
    for f in files:
        with safe_open(str(f), framework="pt") as st:
            names += list(st.keys())
    return names


def _tokenizer_size(path: Path) -> int | None:
    """Tokens of the tokenizer saved in ``path`` (None when there is none)."""
    if not (path / "tokenizer_config.json").exists():
        return None
    from transformers import AutoTokenizer

    return len(AutoTokenizer.from_pretrained(str(path)))


def plan_adapter(adapter_dir: str | Path, base_vocab_size: int | None = None) -> AdapterPlan:
    """Decide whether vLLM can serve ``adapter_dir`` as LoRA or it must be merged first.

    Args:
        adapter_dir: PEFT adapter folder.
        base_vocab_size: ``vocab_size`` of the base model config (checks a grown tokenizer).

    Returns:
        The :class:`AdapterPlan`.
    """
    adapter_dir = Path(adapter_dir)
    cfg = read_adapter_config(adapter_dir)
    if str(cfg.get("peft_type", "LORA")).upper() != "LORA":
        return AdapterPlan("merge", f"peft_type {cfg.get('peft_type')} is not served as LoRA by vLLM")
    if cfg.get("use_dora"):
        return AdapterPlan("merge", "DoRA adapters are not served by vLLM")
    if cfg.get("modules_to_save"):
        return AdapterPlan("merge", f"modules_to_save {cfg['modules_to_save']} are whole trained layers")
    extra = [n for n in _saved_tensor_names(adapter_dir) if "lora_" not in n]
    if extra:
        return AdapterPlan("merge", f"the adapter saves non-LoRA tensors ({extra[0]}, ...), e.g. a resized embedding")
    n_tok = _tokenizer_size(adapter_dir)
    if base_vocab_size and n_tok and n_tok > base_vocab_size:
        return AdapterPlan("merge", f"the tokenizer has {n_tok} tokens, the base model {base_vocab_size}")
    rank = adapter_rank(cfg)
    max_rank = vllm_max_lora_rank(rank)
    if max_rank is None:
        return AdapterPlan("merge", f"LoRA rank {rank} exceeds vLLM's maximum {VLLM_LORA_RANKS[-1]}")
    return AdapterPlan("lora", f"LoRA rank {rank} served with max_lora_rank {max_rank}", max_rank)


def merge_adapter(base_dir: str | Path, adapter_dir: str | Path, out_dir: str | Path) -> Path:
    """Merge a PEFT adapter into its base model and save a plain model folder (runs on CPU).

    The tokenizer (and chat template) saved with the adapter goes with the merged model. An adapter
    whose LoRA ``B`` matrices are all zero (never trained, or not loaded) would merge into the base
    model unchanged and is rejected.

    Args:
        base_dir: Base model folder.
        adapter_dir: Adapter folder.
        out_dir: Destination (written to a temporary sibling and renamed, so it is complete or absent).

    Returns:
        ``out_dir``.

    Raises:
        AdapterNotAppliedError: the merged weights equal the base weights.
    """
    import shutil
    import tempfile

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out_dir = Path(out_dir)
    if (out_dir / "config.json").exists():
        return out_dir
    tok_dir = adapter_dir if (Path(adapter_dir) / "tokenizer_config.json").exists() else base_dir
    tok = AutoTokenizer.from_pretrained(str(tok_dir))
    model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype="auto")
    if len(tok) > model.config.vocab_size:
        model.resize_token_embeddings(len(tok))
    peft_model = PeftModel.from_pretrained(model, str(adapter_dir))
    # the merged delta is scale * B @ A per module: it is zero everywhere iff every loaded B is zero
    lora_b = [p for n, p in peft_model.named_parameters() if "lora_B" in n]
    if lora_b and not read_adapter_config(adapter_dir).get("modules_to_save") \
            and not any(bool(torch.any(p != 0)) for p in lora_b):
        raise AdapterNotAppliedError(f"merging {adapter_dir} would change no base weight (every lora_B is zero)")
    merged = peft_model.merge_and_unload()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        merged.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def sampling_kwargs(decoding: Decoding) -> dict[str, Any]:
    """vLLM ``SamplingParams`` keyword arguments for ``decoding``, every field pinned.

    Greedy decoding is temperature 0 with top-p 1; sampling passes the pinned temperature, top-p and
    seed, and top-k only when it is on (> 0: vLLM's "off" value changed from -1 to 0 across versions,
    and leaving it out means off in all of them).
    """
    kw: dict[str, Any] = {"temperature": decoding.temperature if not decoding.greedy else 0.0,
                          "top_p": 1.0 if decoding.greedy else decoding.top_p,
                          "max_tokens": decoding.max_new_tokens, "seed": decoding.seed, "n": 1}
    if not decoding.greedy and decoding.top_k > 0:
        kw["top_k"] = decoding.top_k
    return kw


def first_token_logprobs(outputs: Sequence[Any]) -> list[dict[int, float]]:
    """Per request, the log-probabilities of the first generated position (token id -> nats)."""
    out = []
    for o in outputs:
        lp = (o.outputs[0].logprobs or [{}])[0] if o.outputs else {}
        out.append({int(t): float(getattr(v, "logprob", v)) for t, v in lp.items()})
    return out


def adapter_effect(base: Sequence[dict[int, float]], tuned: Sequence[dict[int, float]]) -> float:
    """Largest first-token log-probability change between base and tuned outputs (nats; inf when the
    top tokens differ)."""
    effect = 0.0
    for b, t in zip(base, tuned, strict=True):
        if not b or not t:
            continue
        if max(b, key=b.__getitem__) != max(t, key=t.__getitem__):
            return math.inf
        effect = max([effect, *(abs(b[k] - t[k]) for k in b.keys() & t.keys())])
    return effect


def check_adapter_applied(base: Sequence[dict[int, float]], tuned: Sequence[dict[int, float]],
                          min_effect: float = MIN_ADAPTER_EFFECT) -> float:
    """Raise :class:`AdapterNotAppliedError` when the adapter changes no probe log-probability.

    Returns:
        The measured :func:`adapter_effect`.
    """
    effect = adapter_effect(base, tuned)
    if effect < min_effect:
        raise AdapterNotAppliedError(
            f"the LoRA adapter changed no first-token log-probability on {len(base)} probe prompts "
            f"(max change {effect:.2g} nats < {min_effect:g}): vLLM did not apply it")
    return effect


def engine_kwargs(model_dir: str | Path, tokenizer_dir: str | Path, plan: AdapterPlan | None, *,
                  max_num_seqs: int = 256, tensor_parallel_size: int = 1, gpu_memory_utilization: float = 0.85,
                  max_model_len: int | None = None, dtype: str = "bfloat16", seed: int = 0,
                  enforce_eager: bool = False, **extra: Any) -> dict[str, Any]:
    """Keyword arguments of ``vllm.LLM`` for a model (and a LoRA plan)."""
    kw: dict[str, Any] = {"model": str(model_dir), "tokenizer": str(tokenizer_dir), "dtype": dtype, "seed": seed,
                          "tensor_parallel_size": tensor_parallel_size,
                          "gpu_memory_utilization": gpu_memory_utilization, "max_num_seqs": max_num_seqs,
                          "enforce_eager": enforce_eager}
    if max_model_len:
        kw["max_model_len"] = max_model_len
    if plan is not None and plan.mode == "lora":
        kw.update(enable_lora=True, max_lora_rank=plan.max_lora_rank, max_loras=1)
    kw.update(extra)
    return kw


class VLLMBackend:
    """Generation with vLLM (one or several GPUs of one node).

    Args:
        model_dir: Base model folder, or a full fine-tuned model folder.
        adapter_dir: Optional PEFT adapter (served as LoRA or merged first, see :func:`plan_adapter`).
        batch_size: Most sequences vLLM schedules at once (``max_num_seqs``).
        threads: Unused (CPU threads of the transformers backend; accepted for the common interface).
        tensor_parallel_size: GPUs per model (default: all visible GPUs).
        merge_dir: Where a merged model goes (default ``<adapter_dir>/../merged``).
        probe: Prove the LoRA adapter is applied before the first generation.
        **engine: More ``vllm.LLM`` arguments (``gpu_memory_utilization``, ``max_model_len``, ``dtype``,
            ``seed``, ``enforce_eager``).
    """

    name = "vllm"

    def __init__(self, model_dir: str | Path, adapter_dir: str | Path | None = None, batch_size: int = 256,
                 threads: int | None = None, *, tensor_parallel_size: int | None = None,
                 merge_dir: str | Path | None = None, probe: bool = True, **engine: Any):
        from transformers import AutoConfig, AutoTokenizer
        from vllm import LLM

        self.plan: AdapterPlan | None = None
        self.adapter_dir = Path(adapter_dir) if adapter_dir else None
        model_dir = Path(model_dir)
        if self.adapter_dir is not None:
            base_vocab = getattr(AutoConfig.from_pretrained(str(model_dir)), "vocab_size", None)
            self.plan = plan_adapter(self.adapter_dir, base_vocab)
            if self.plan.mode == "merge":
                model_dir = merge_adapter(model_dir, self.adapter_dir,
                                          Path(merge_dir) if merge_dir else self.adapter_dir.parent / "merged")
        tok_dir = (self.adapter_dir if self.adapter_dir and (self.adapter_dir / "tokenizer_config.json").exists()
                   else model_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(str(tok_dir))
        if tensor_parallel_size is None:
            import torch

            tensor_parallel_size = max(1, torch.cuda.device_count())
        self.llm = LLM(**engine_kwargs(model_dir, tok_dir, self.plan, max_num_seqs=batch_size,
                                       tensor_parallel_size=tensor_parallel_size, **engine))
        self.probe_enabled = probe
        self.adapter_effect: float | None = None

    @property
    def lora(self) -> bool:
        """Whether generation goes through a ``LoRARequest``."""
        return self.plan is not None and self.plan.mode == "lora"

    def lora_request(self):
        """The ``LoRARequest`` of the adapter (None when not serving LoRA)."""
        from vllm.lora.request import LoRARequest

        return LoRARequest("ftagent-adapter", 1, str(self.adapter_dir)) if self.lora else None

    def prompts(self, conversations: Sequence[Messages]) -> list[str]:
        """The conversations rendered with the chat template and the assistant generation prompt."""
        return [self.tokenizer.apply_chat_template(list(c), tokenize=False, add_generation_prompt=True)
                for c in conversations]

    def token_prompts(self, conversations: Sequence[Messages]) -> list[dict[str, list[int]]]:
        """The rendered prompts as vLLM token prompts (no special tokens added: the template has them)."""
        return [{"prompt_token_ids": self.tokenizer(t, add_special_tokens=False)["input_ids"]}
                for t in self.prompts(conversations)]

    def probe(self, conversations: Sequence[Messages]) -> float:
        """Score the first token of each conversation with and without the adapter.

        Returns:
            The adapter effect in nats (:func:`adapter_effect`).

        Raises:
            AdapterNotAppliedError: the adapter changed nothing.
        """
        from vllm import SamplingParams

        params = SamplingParams(temperature=0.0, max_tokens=1, logprobs=5, seed=0)
        prompts = self.token_prompts(conversations[:PROBE_SIZE])
        base = first_token_logprobs(self.llm.generate(prompts, params, use_tqdm=False))
        tuned = first_token_logprobs(self.llm.generate(prompts, params, lora_request=self.lora_request(),
                                                       use_tqdm=False))
        self.adapter_effect = check_adapter_applied(base, tuned)
        return self.adapter_effect

    def generate(self, conversations: Sequence[Messages], decoding: Decoding) -> list[str]:
        """One completion per conversation, in input order (vLLM keeps the order of its inputs)."""
        from vllm import SamplingParams

        if not conversations:
            return []
        if self.lora and self.probe_enabled and self.adapter_effect is None:
            self.probe(conversations)
        outs = self.llm.generate(self.token_prompts(conversations), SamplingParams(**sampling_kwargs(decoding)),
                                 lora_request=self.lora_request(), use_tqdm=False)
        return [o.outputs[0].text if o.outputs else "" for o in outs]
