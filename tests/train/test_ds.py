"""Shipped DeepSpeed configs: "auto" where the Trainer decides, consistent with any training config."""

from __future__ import annotations

import json

import pytest

from ftagent.errors import ConfigError
from ftagent.train import ds
from ftagent.train.config import TrainConfig


@pytest.mark.parametrize("stage", [2, 3])
def test_shipped_configs_leave_batch_and_precision_to_the_trainer(stage):
    conf = ds.load_deepspeed_config(stage)
    assert conf["zero_optimization"]["stage"] == stage
    for key in ds.AUTO_KEYS:
        assert ds._get(conf, key) == "auto", key
    assert "optimizer" not in conf and "scheduler" not in conf  # the Trainer's AdamW and schedule win


def test_zero3_gathers_weights_on_save():
    conf = ds.load_deepspeed_config(3)
    assert conf["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True


@pytest.mark.parametrize("stage", [2, 3])
@pytest.mark.parametrize("cfg", [
    TrainConfig(bf16=True, per_device_train_batch_size=2, gradient_accumulation_steps=8),
    TrainConfig(bf16=False, per_device_train_batch_size=16, max_grad_norm=0.5),
])
@pytest.mark.parametrize(("world", "cuda"), [(1, False), (2, False), (8, True)])
def test_shipped_configs_agree_with_any_training_config(stage, cfg, world, cuda):
    cfg = cfg.model_copy(update={"deepspeed": stage})
    assert ds.deepspeed_mismatches(ds.load_deepspeed_config(stage), cfg, world, cuda) == []


def test_trainer_values_follow_deepspeed_batch_rule():
    cfg = TrainConfig(per_device_train_batch_size=2, gradient_accumulation_steps=8, bf16=True)
    v = ds.trainer_values(cfg, world_size=4, cuda=True)
    assert v["train_batch_size"] == 4 * 2 * 8 and v["bf16.enabled"] is True and v["fp16.enabled"] is False
    assert ds.trainer_values(cfg, 1, cuda=False)["bf16.enabled"] is False  # never bf16 on CPU


def test_hand_written_config_that_disagrees_is_rejected(tmp_path):
    # LLaMA-Factory #3224: bf16 fixed in the DeepSpeed JSON but off in the training arguments
    bad = {"train_micro_batch_size_per_gpu": 8, "bf16": {"enabled": True},
           "zero_optimization": {"stage": 3}}
    path = tmp_path / "ds.json"
    path.write_text(json.dumps(bad))
    cfg = TrainConfig(per_device_train_batch_size=4, bf16=False, deepspeed=3)
    with pytest.raises(ConfigError) as e:
        ds.check_deepspeed_config(path, cfg, world_size=1, cuda=True)
    msg = str(e.value)
    assert "train_micro_batch_size_per_gpu=8 vs 4" in msg and "bf16.enabled=True vs False" in msg
    assert "stage3_gather_16bit_weights_on_model_save" in msg


def test_missing_deepspeed_fails_early(monkeypatch):
    monkeypatch.setattr(ds, "deepspeed_available", lambda: False)
    with pytest.raises(ConfigError, match="deepspeed package is not installed"):
        ds.require_deepspeed(2)
    ds.require_deepspeed(None)  # no stage, no check


def test_launcher_checks_deepspeed_before_starting(monkeypatch, tmp_path):
    from ftagent.train import launch

    monkeypatch.setattr(ds, "deepspeed_available", lambda: False)
    monkeypatch.setattr(launch, "_run", lambda *a, **k: pytest.fail("must not start"))
    with pytest.raises(ConfigError, match="'deepspeed'"):
        launch.launch_training(TrainConfig(deepspeed=3), tmp_path, tmp_path / "d.json", tmp_path / "out",
                               nproc_per_node=1)


@pytest.mark.deepspeed
@pytest.mark.parametrize("stage", [2, 3])
def test_transformers_fills_auto_without_mismatch(stage, tmp_path):
    pytest.importorskip("deepspeed")
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig, unset_hf_deepspeed_config
    from trl import SFTConfig

    cfg = TrainConfig(per_device_train_batch_size=3, gradient_accumulation_steps=2, max_grad_norm=0.7)
    args = SFTConfig(output_dir=str(tmp_path), per_device_train_batch_size=3, gradient_accumulation_steps=2,
                     max_grad_norm=0.7, bf16=False, use_cpu=True, report_to=[])  # TRL defaults bf16 on
    hf = HfTrainerDeepSpeedConfig(ds.load_deepspeed_config(stage))
    hf.trainer_config_process(args)
    try:
        assert hf.mismatches == []
        assert ds.deepspeed_mismatches(hf.config, cfg, world_size=1, cuda=False) == []
    finally:
        unset_hf_deepspeed_config()
