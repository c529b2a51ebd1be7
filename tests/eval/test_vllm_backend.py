"""vLLM backend parts that need no vLLM: adapter plan, merging, sampling params, the adapter probe,
and the backend wiring against a fake ``vllm`` module."""

from __future__ import annotations

import json
import sys
import types

import pytest

from ftagent.eval import vllm_backend as vb
from ftagent.eval.generate import Decoding

# ---------------------------------------------------------------- adapters on the tiny model


def _adapter(base_dir, out_dir, *, trained=True, **lora):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(str(base_dir)),
                           LoraConfig(task_type="CAUSAL_LM", **{"r": 4, "target_modules": ["q_proj", "v_proj"], **lora}))
    if trained:
        with torch.no_grad():
            for n, p in model.named_parameters():
                if "lora_B" in n:
                    p.normal_(0, 0.5)
    model.save_pretrained(str(out_dir))
    AutoTokenizer.from_pretrained(str(base_dir)).save_pretrained(str(out_dir))
    return out_dir


@pytest.fixture(scope="module")
def adapter(tiny_model, tmp_path_factory):
    return _adapter(tiny_model, tmp_path_factory.mktemp("adapter") / "model")


def _edit_config(src, dst, **changes):
    import shutil

    shutil.copytree(src, dst)
    cfg = json.loads((dst / "adapter_config.json").read_text())
    cfg.update(changes)
    (dst / "adapter_config.json").write_text(json.dumps(cfg))
    return dst


def test_plain_lora_is_served_as_lora(adapter):
    plan = vb.plan_adapter(adapter, base_vocab_size=10**6)
    assert plan.mode == "lora" and plan.max_lora_rank == 8  # r=4 rounds up to vLLM's smallest rank above 1


@pytest.mark.parametrize(("changes", "mode", "rank"), [
    ({"r": 16}, "lora", 16),
    ({"r": 16, "rank_pattern": {"q_proj": 64}}, "lora", 64),
    ({"r": 600}, "merge", 0),
    ({"modules_to_save": ["lm_head"]}, "merge", 0),
    ({"use_dora": True}, "merge", 0),
    ({"peft_type": "IA3"}, "merge", 0),
])
def test_adapter_plan(adapter, tmp_path, changes, mode, rank):
    plan = vb.plan_adapter(_edit_config(adapter, tmp_path / "a", **changes))
    assert (plan.mode, plan.max_lora_rank) == (mode, rank), plan.reason


def test_saved_embedding_or_grown_tokenizer_forces_merge(adapter, tmp_path):
    import torch
    from safetensors.torch import load_file, save_file

    a = _edit_config(adapter, tmp_path / "emb")
    weights = load_file(str(a / "adapter_model.safetensors"))
    weights["base_model.model.model.embed_tokens.weight"] = torch.zeros(4, 4)
    save_file(weights, str(a / "adapter_model.safetensors"))
    assert vb.plan_adapter(a).mode == "merge"
    assert "tokens" in vb.plan_adapter(adapter, base_vocab_size=10).reason  # tokenizer larger than the base


def test_rank_rounding():
    assert [vb.vllm_max_lora_rank(r) for r in (1, 2, 8, 9, 300, 512, 513)] == [1, 8, 8, 16, 320, 512, None]


def test_merge_changes_the_model(tiny_model, adapter, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    merged = vb.merge_adapter(tiny_model, adapter, tmp_path / "merged")
    assert (merged / "config.json").exists() and (merged / "tokenizer_config.json").exists()
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model))
    m = AutoModelForCausalLM.from_pretrained(str(merged))
    ids = torch.tensor([[5, 6, 7, 8]])
    assert not torch.allclose(base(ids).logits, m(ids).logits)
    assert vb.merge_adapter(tiny_model, adapter, merged) == merged  # already there: kept
    assert not list(tmp_path.glob(".merged.*"))  # no temporary folder left


def test_merging_an_untrained_adapter_fails(tiny_model, tmp_path):
    untrained = _adapter(tiny_model, tmp_path / "untrained", trained=False)
    with pytest.raises(vb.AdapterNotAppliedError, match="lora_B is zero"):
        vb.merge_adapter(tiny_model, untrained, tmp_path / "merged")
    assert not (tmp_path / "merged").exists()


# ---------------------------------------------------------------- decoding and probe


def test_sampling_params_are_pinned():
    greedy = vb.sampling_kwargs(Decoding(temperature=0.0, max_new_tokens=64, top_p=0.5, top_k=20))
    assert greedy == {"temperature": 0.0, "top_p": 1.0, "max_tokens": 64, "seed": 0, "n": 1}
    sampled = vb.sampling_kwargs(Decoding(temperature=0.6, top_p=0.95, top_k=20, max_new_tokens=32, seed=7))
    assert sampled == {"temperature": 0.6, "top_p": 0.95, "top_k": 20, "max_tokens": 32, "seed": 7, "n": 1}
    assert "top_k" not in vb.sampling_kwargs(Decoding(temperature=0.6))


def test_adapter_effect():
    base = [{1: -0.1, 2: -2.5}, {3: -0.7, 4: -0.9}]
    assert vb.adapter_effect(base, base) == 0.0
    with pytest.raises(vb.AdapterNotAppliedError, match="did not apply it"):
        vb.check_adapter_applied(base, [dict(d) for d in base])
    shifted = [{1: -0.1, 2: -2.4}, {3: -0.7, 4: -0.9}]
    assert vb.check_adapter_applied(base, shifted) == pytest.approx(0.1)
    flipped = [{1: -2.0, 2: -0.2}, {3: -0.7, 4: -0.9}]
    assert vb.adapter_effect(base, flipped) == float("inf")


# ---------------------------------------------------------------- the backend against a fake vllm


class _Out:
    def __init__(self, text, logprobs):
        self.outputs = [types.SimpleNamespace(text=text, logprobs=logprobs)]


class _FakeLLM:
    adapter_works = True
    last: _FakeLLM | None = None

    def __init__(self, **kw):
        self.kw, self.calls = kw, []
        _FakeLLM.last = self

    def generate(self, prompts, params, lora_request=None, use_tqdm=True):
        self.calls.append((prompts, params.kw, lora_request))
        shift = 0.3 if (lora_request is not None and self.adapter_works) else 0.0
        return [_Out(f"{'ft' if lora_request else 'base'}#{len(p['prompt_token_ids'])}",
                     [{7: types.SimpleNamespace(logprob=-0.2 - shift), 9: types.SimpleNamespace(logprob=-3.0)}])
                for p in prompts]


@pytest.fixture
def fake_vllm(monkeypatch):
    vllm = types.ModuleType("vllm")
    vllm.LLM = _FakeLLM
    vllm.SamplingParams = lambda **kw: types.SimpleNamespace(kw=kw)
    lora = types.ModuleType("vllm.lora")
    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = lambda name, i, path: types.SimpleNamespace(name=name, id=i, path=path)
    for name, mod in {"vllm": vllm, "vllm.lora": lora, "vllm.lora.request": request}.items():
        monkeypatch.setitem(sys.modules, name, mod)
    _FakeLLM.adapter_works = True
    return _FakeLLM


CONVS = [[{"role": "user", "content": "What is 2 plus 3?"}], [{"role": "user", "content": "Hi"}]]


def test_lora_backend_probes_then_generates(fake_vllm, tiny_model, adapter):
    from ftagent.eval.generate import TransformersBackend

    backend = vb.VLLMBackend(tiny_model, adapter, batch_size=16, tensor_parallel_size=1)
    llm = fake_vllm.last
    assert llm.kw["enable_lora"] is True and llm.kw["max_lora_rank"] == 8 and llm.kw["max_num_seqs"] == 16
    assert llm.kw["model"] == str(tiny_model)
    out = backend.generate(CONVS, Decoding(temperature=0.0, max_new_tokens=5))
    cpu = TransformersBackend(tiny_model, adapter_dir=adapter)
    lengths = [len(cpu.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in cpu.prompts(CONVS)]
    assert out == [f"ft#{n}" for n in lengths]  # input order; same token ids as the CPU backend
    (p_base, kw_base, r_base), (p_ft, _, r_ft), (_, kw_gen, r_gen) = llm.calls
    assert r_base is None and r_ft is not None and r_gen is not None and r_ft.path == str(adapter)
    assert kw_base["max_tokens"] == 1 and kw_base["logprobs"] == 5
    assert kw_gen == {"temperature": 0.0, "top_p": 1.0, "max_tokens": 5, "seed": 0, "n": 1}
    assert backend.adapter_effect == pytest.approx(0.3)
    backend.generate(CONVS, Decoding(temperature=0.0))
    assert len(llm.calls) == 4  # the probe runs once


def test_ignored_lora_request_fails_loudly(fake_vllm, tiny_model, adapter):
    fake_vllm.adapter_works = False
    backend = vb.VLLMBackend(tiny_model, adapter, tensor_parallel_size=1)
    with pytest.raises(vb.AdapterNotAppliedError):
        backend.generate(CONVS, Decoding(temperature=0.0))


def test_modules_to_save_adapter_is_merged_first(fake_vllm, tiny_model, tmp_path):
    a = _adapter(tiny_model, tmp_path / "exp" / "model", modules_to_save=["norm"])
    backend = vb.VLLMBackend(tiny_model, a, tensor_parallel_size=1)
    llm = fake_vllm.last
    assert backend.plan.mode == "merge" and "enable_lora" not in llm.kw
    assert llm.kw["model"] == str(tmp_path / "exp" / "merged")
    assert backend.generate(CONVS, Decoding(temperature=0.0))[0].startswith("base#")  # no LoRA request


def test_full_model_needs_no_adapter(fake_vllm, tiny_model):
    backend = vb.VLLMBackend(tiny_model, tensor_parallel_size=2, max_model_len=512)
    assert backend.plan is None and fake_vllm.last.kw["tensor_parallel_size"] == 2
    assert fake_vllm.last.kw["max_model_len"] == 512
    assert backend.generate([], Decoding(temperature=0.0)) == []


def test_vllm_is_not_imported_by_the_cpu_path():
    import subprocess

    code = ("import sys, ftagent.eval.generate, ftagent.eval.vllm_backend, ftagent.train.sft; "
            "print(sorted(m for m in ('vllm', 'deepspeed') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_vllm_env_lets_vllm_pin_torch_and_transformers():
    from pathlib import Path

    import yaml

    env = yaml.safe_load((Path(__file__).resolve().parents[2] / "workflow" / "envs" / "vllm.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    names = [p.split("=")[0].split(">")[0].split("<")[0].strip() for p in pip]
    assert any(p.startswith("vllm==") for p in pip)  # pinned: greedy outputs change across versions
    assert not {"torch", "transformers", "ftagent"} & set(names)
    assert (Path(__file__).resolve().parents[2] / "workflow" / "envs" / "vllm.post-deploy.sh").exists()
