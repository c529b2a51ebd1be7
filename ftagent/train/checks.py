"""Post-training checks: a run that trained badly must fail loudly, not be evaluated as if fine.

* The loss history must be finite, not identically zero, and not diverging (a final loss far above
  the first one) — DeepSpeed ZeRO-2 multi-node runs have been seen to report a loss of exactly 0
  (LLaMA-Factory #8137).
* The saved model or adapter must reload and hold no zero-size tensor — a ZeRO-3 save without
  ``stage3_gather_16bit_weights_on_model_save`` writes empty tensors (DeepSpeed #3841).
"""

from __future__ import annotations

import math
from pathlib import Path


class TrainCheckError(Exception):
    """A post-training check failed; the message says which and why."""


def check_loss_history(losses: list[float], diverge_factor: float = 3.0) -> None:
    """Raise :class:`TrainCheckError` on NaN/inf, an all-zero loss, or divergence.

    Args:
        losses: Training losses in logging order.
        diverge_factor: The run diverged when the mean of the last quarter exceeds the first loss
            by this factor.
    """
    if not losses:
        raise TrainCheckError("no training loss was logged")
    if any(not math.isfinite(x) for x in losses):
        raise TrainCheckError(f"training loss is not finite ({[x for x in losses if not math.isfinite(x)][:1]})")
    if all(x == 0.0 for x in losses):
        raise TrainCheckError("training loss is exactly 0 at every step")
    tail = losses[-max(1, len(losses) // 4):]
    if len(losses) >= 4 and sum(tail) / len(tail) > diverge_factor * max(losses[0], 1e-8):
        raise TrainCheckError(f"training diverged: loss went from {losses[0]:.4g} to {tail[-1]:.4g}")


def check_saved_tensors(model_dir: Path) -> int:
    """Load every safetensors file under ``model_dir`` and check that no tensor is empty.

    Returns:
        The number of tensors checked.

    Raises:
        TrainCheckError: no weights were saved, or a tensor has zero elements (names it).
    """
    from safetensors import safe_open

    files = sorted(Path(model_dir).rglob("*.safetensors"))
    if not files:
        raise TrainCheckError(f"no weights saved under {model_dir}")
    n = 0
    for f in files:
        with safe_open(str(f), framework="pt") as st:
            for key in st.keys():
                shape = st.get_slice(key).get_shape()
                if any(d == 0 for d in shape):
                    raise TrainCheckError(f"saved tensor {key} in {f.name} is empty (shape {shape})")
                n += 1
    return n
