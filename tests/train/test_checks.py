"""Post-training checks catch a planted NaN loss, a planted empty tensor, a lost save, a changed template."""

from __future__ import annotations

import math
import shutil

import pytest

from ftagent.train import checks
from ftagent.train.checks import TrainCheckError


@pytest.mark.parametrize("losses", [[2.0, 1.5, 1.2, 1.0], [3.1], [2.0, 0.0001, 0.5]])
def test_healthy_loss_passes(losses):
    checks.check_loss_history(losses)


@pytest.mark.parametrize(("losses", "match"), [
    ([], "no training loss"),
    ([2.0, math.nan, 1.0], "not finite"),
    ([2.0, math.inf], "not finite"),
    ([0.0, 0.0, 0.0], "exactly 0 at every step"),
    ([2.1, 1.7, 0.0, 0.0], "collapsed to exactly 0 from logged step 2"),
    ([1.0, 1.2, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], "diverged"),
])
def test_bad_loss_fails(losses, match):
    with pytest.raises(TrainCheckError, match=match):
        checks.check_loss_history(losses)


def test_planted_empty_tensor_is_caught(tmp_path):
    import torch
    from safetensors.torch import save_file

    save_file({"a.weight": torch.ones(2, 3), "b.weight": torch.ones(4)}, str(tmp_path / "model.safetensors"))
    assert checks.check_saved_tensors(tmp_path) == 2
    save_file({"a.weight": torch.ones(2, 3), "lora_B.weight": torch.empty(0, 16)},
              str(tmp_path / "adapter_model.safetensors"))
    with pytest.raises(TrainCheckError, match=r"lora_B\.weight .* is empty"):
        checks.check_saved_tensors(tmp_path)


def test_no_weights_is_caught(tmp_path):
    with pytest.raises(TrainCheckError, match="no weights saved"):
        checks.check_saved_tensors(tmp_path)


def _rows(tokenizer):
    texts = ["<|im_start|>user\nWhat is 2 plus 3?<|im_end|>\n<|im_start|>assistant\n5<|im_end|>\n",
             "<|im_start|>user\nWhat is 7 plus 1?<|im_end|>\n<|im_start|>assistant\n8<|im_end|>\n"]
    return [{"input_ids": tokenizer(t)["input_ids"], "labels": tokenizer(t)["input_ids"]} for t in texts]


def test_reload_reproduces_loss_and_catches_a_lost_save(tiny_model, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model))
    rows = _rows(tok)
    trained = AutoModelForCausalLM.from_pretrained(str(tiny_model))
    expected = checks.probe_loss(trained, rows)
    assert math.isfinite(expected) and expected > 0
    assert checks.check_reload(tiny_model, rows, expected, rel_tol=1e-6, abs_tol=1e-6) == pytest.approx(expected)

    # a save that lost the trained weights (here: zeroed layers) reloads fine but gives another loss
    broken = tmp_path / "broken"
    with torch.no_grad():
        for p in trained.model.layers.parameters():
            p.zero_()
    trained.save_pretrained(str(broken))
    tok.save_pretrained(str(broken))
    with pytest.raises(TrainCheckError, match="failed to reload with the trained weights"):
        checks.check_reload(broken, rows, expected)


def test_unloadable_save_is_reported_in_one_line(tmp_path):
    with pytest.raises(TrainCheckError, match="failed to reload") as e:
        checks.reload_model(tmp_path)
    assert "\n" not in str(e.value)


def test_chat_template_must_match(tiny_model, tmp_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model))
    want = checks.template_hash(tok.chat_template)
    assert checks.check_chat_template(tiny_model, want) == want
    changed = tmp_path / "changed"
    shutil.copytree(tiny_model, changed)
    tok.chat_template = tok.chat_template.replace("<|im_start|>", "<|im_start|> ")
    tok.save_pretrained(str(changed))
    with pytest.raises(TrainCheckError, match="chat template"):
        checks.check_chat_template(changed, want)


def test_probe_rows_keep_the_completion_of_a_long_prompt():
    """A 1,000-token prompt with its completion at the end still gives label tokens to score (the GPU
    check's rows were once cut to their prompt, which silently skipped the reload check)."""
    prompt, completion = list(range(1000)), [7, 8, 9]
    row = {"input_ids": prompt + completion, "labels": [-100] * len(prompt) + completion}
    short = {"input_ids": [1, 2, 3], "labels": [-100, 2, 3]}
    masked = {"input_ids": [1, 2], "labels": [-100, -100]}
    rows = checks.probe_rows([row, short, masked], n=3, max_tokens=16)
    assert len(rows) == 2
    assert rows[0]["input_ids"] == (prompt + completion)[-16:]
    assert rows[0]["labels"][-3:] == completion and len(rows[0]["labels"]) == 16
    assert rows[1] == short
