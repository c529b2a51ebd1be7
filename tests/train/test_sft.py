"""In-process SFT of the tiny model: outputs, post-training checks, micro mode, a planted NaN."""

from __future__ import annotations

import json
import shutil

import pytest

from ftagent.errors import DataError
from ftagent.train.config import TrainConfig
from ftagent.train.sft import read_train_result, train_sft
from ftagent.utils.io import read_jsonl

FAST = {"max_steps": 4, "per_device_train_batch_size": 8, "learning_rate": 3e-3, "logging_steps": 1}


def test_lora_run_saves_a_checked_adapter(tiny_model, sft_data, tmp_path):
    res = train_sft(TrainConfig(method="lora", **FAST), tiny_model, sft_data, tmp_path, threads=2)
    assert res.ok, res.error
    assert res.steps == 4 and res.samples == 64 and len(res.losses) == 4
    model_dir = tmp_path / "model"
    assert res.model_dir == str(model_dir) and (model_dir / "adapter_model.safetensors").exists()
    assert (model_dir / "chat_template.jinja").exists() or "chat_template" in (
        model_dir / "tokenizer_config.json").read_text()
    assert res.extra["reload_loss"] == pytest.approx(res.extra["probe_loss"], rel=1e-5)
    assert res.extra["num_tokens"] > 0 and res.extra["step_s_mean"] > 0
    assert [r["loss"] for r in read_jsonl(tmp_path / "trainer_log.jsonl")] == res.losses
    assert read_train_result(tmp_path) == res


def test_micro_run_saves_nothing(tiny_model, sft_data, tmp_path):
    res = train_sft(TrainConfig(method="full", **FAST), tiny_model, sft_data, tmp_path, micro=True, threads=2)
    assert res.ok and res.steps == 2 and res.samples == 8 and res.model_dir is None
    assert not (tmp_path / "model").exists() and not list(tmp_path.glob("checkpoints/checkpoint-*"))


def test_planted_nan_weights_fail_the_run(tiny_model, sft_data, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    nan_model = tmp_path / "nan_model"
    shutil.copytree(tiny_model, nan_model)
    model = AutoModelForCausalLM.from_pretrained(str(nan_model))
    with torch.no_grad():
        model.model.layers[0].mlp.up_proj.weight[0, 0] = float("nan")
    model.save_pretrained(str(nan_model))
    res = train_sft(TrainConfig(method="full", **FAST), nan_model, sft_data, tmp_path / "out", threads=2)
    assert not res.ok and "training loss is not finite" in res.error
    assert res.model_dir is None and not (tmp_path / "out" / "model").exists()
    assert json.loads((tmp_path / "out" / "train_result.json").read_text())["ok"] is False


def test_data_format_is_enforced(tiny_model, sft_data, tmp_path):
    with pytest.raises(DataError, match="data_format is 'chat'"):
        train_sft(TrainConfig(data_format="chat", **FAST), tiny_model, sft_data, tmp_path, micro=True)
