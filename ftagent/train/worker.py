"""One training process under ``torchrun`` (started by :mod:`ftagent.train.launch`, not by hand).

Every rank runs :func:`~ftagent.train.sft.train_sft`; rank 0 writes ``train_result.json``. A rank
that raises writes ``failure-rank<k>.json`` (exception type, message, traceback) before exiting, so
the launcher can report the real error rather than torchrun's summary. Exit status: 0 when training
and its checks passed, 3 when a post-training check failed, 1 on an exception.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from ftagent.utils.io import atomic_write_json

#: Exit status of a run whose post-training checks failed.
CHECK_FAILED = 3


def build_parser() -> argparse.ArgumentParser:
    """Arguments passed by the launcher."""
    p = argparse.ArgumentParser(prog="python -m ftagent.train.worker")
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--sample-cap", type=int, default=None)
    p.add_argument("--micro", action="store_true")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--resume", type=Path, default=None)
    p.add_argument("--deepspeed-config", type=Path, default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    """Train; on an exception write this rank's failure record and re-raise."""
    args = build_parser().parse_args(argv)
    rank = int(os.environ.get("RANK", "0"))
    try:
        from ftagent.train.config import parse_train_config
        from ftagent.train.sft import train_sft

        cfg, _ = parse_train_config(args.config)
        res = train_sft(cfg, args.model, args.data, args.out, sample_cap=args.sample_cap, micro=args.micro,
                        threads=args.threads, deepspeed_config=args.deepspeed_config,
                        resume_from_checkpoint=args.resume)
    except BaseException as e:
        atomic_write_json(args.out / f"failure-rank{rank}.json", {
            "rank": rank, "type": type(e).__name__, "message": (str(e).splitlines() or [""])[0][:500],
            "traceback": traceback.format_exc()[-6000:]})
        raise
    return 0 if res.ok else CHECK_FAILED


if __name__ == "__main__":
    sys.exit(main())
