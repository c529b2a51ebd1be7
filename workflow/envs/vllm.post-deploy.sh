#!/usr/bin/env bash
# Snakemake runs this inside the freshly created vllm env, from the directory it was started in (the
# repository root). Install ftagent without touching vLLM's pinned torch/transformers.
set -euo pipefail
if [ -f pyproject.toml ] && grep -q '^name = "ftagent"' pyproject.toml; then
  python -m pip install --no-deps --no-build-isolation -e .
else
  echo "vllm.post-deploy.sh: not at the ftagent repository root; rules still work via 'python -m ftagent'" >&2
fi
python -c "import ftagent.eval.vllm_backend" || echo "vllm.post-deploy.sh: ftagent is not importable in this env" >&2
