"""Training config: parameter filtering, value validation naming the key, normalised spellings."""

from __future__ import annotations

import pytest

from ftagent.errors import ConfigError
from ftagent.train.config import TrainConfig, parse_train_config


def test_unknown_keys_are_dropped_and_listed():
    cfg, dropped = parse_train_config({"method": "full", "template": "qwen", "stage": "sft", "lora_r": 8})
    assert cfg.method == "full" and cfg.lora_r == 8
    assert dropped == ["stage", "template"]


def test_yaml_string_and_defaults():
    cfg, dropped = parse_train_config("learning_rate: 2.0e-5\nnum_train_epochs: 2\n")
    assert (cfg.learning_rate, cfg.num_train_epochs, dropped) == (2e-5, 2.0, [])
    assert cfg.deepspeed is None and cfg.save_steps == 0 and cfg.data_format == "auto"


@pytest.mark.parametrize(("data", "key"), [
    ({"method": "dpo"}, "method"),
    ({"learning_rate": 0}, "learning_rate"),
    ({"per_device_train_batch_size": 0}, "per_device_train_batch_size"),
    ({"lr_scheduler_type": "polynomial"}, "lr_scheduler_type"),
    ({"warmup_ratio": 0.9}, "warmup_ratio"),
    ({"cutoff_len": 2}, "cutoff_len"),
    ({"deepspeed": 1}, "deepspeed"),
    ({"deepspeed": "examples/deepspeed/ds_z3_config.json"}, "deepspeed"),
    ({"data_format": "sharegpt"}, "data_format"),
    ({"max_steps": 0}, "max_steps"),
    ({"save_steps": -1}, "save_steps"),
    ({"lora_target": []}, "lora_target"),
])
def test_invalid_values_name_the_key(data, key):
    with pytest.raises(ConfigError) as e:
        parse_train_config(data)
    msg = str(e.value)
    assert f"'{key}'" in msg and "\n" not in msg


@pytest.mark.parametrize(("value", "stage"), [
    (2, 2), (3, 3), ("3", 3), ("z2", 2), ("zero3", 3), ("ZeRO-2", 2), ("stage3", 3),
    (None, None), (0, None), (False, None), ("none", None)])
def test_deepspeed_stage_spellings(value, stage):
    assert parse_train_config({"deepspeed": value})[0].deepspeed == stage


def test_lora_target_spellings():
    assert parse_train_config({"lora_target": "all"})[0].lora_target == "all-linear"
    assert parse_train_config({"lora_target": "q_proj, v_proj"})[0].lora_target == ["q_proj", "v_proj"]


def test_bad_yaml_and_non_mapping(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_train_config("a: [1, 2")
    with pytest.raises(ConfigError, match="mapping"):
        parse_train_config("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="not found"):
        parse_train_config(tmp_path / "missing.yaml")


def test_yaml_round_trip():
    cfg = TrainConfig(method="full", deepspeed=3, save_steps=50, lora_target=["q_proj"])
    again, dropped = parse_train_config(cfg.to_yaml())
    assert again == cfg and dropped == []
    assert cfg.adapter is False and TrainConfig().adapter is True


def test_every_field_is_documented():
    doc = TrainConfig.__doc__ or ""
    missing = [f for f in TrainConfig.model_fields if f"{f}:" not in doc]
    assert not missing
