"""Rewrite the rule table of ``docs/scoring.md`` (between its ``rules:begin``/``rules:end`` markers) from
:data:`ftagent.eval.profiles.DEPARTURES`. Usage: ``python scripts/update_scoring_docs.py``."""

from __future__ import annotations

import re
from pathlib import Path

from ftagent.eval.profiles import departures_markdown
from ftagent.utils.io import atomic_write_text

DOC = Path(__file__).resolve().parents[1] / "docs" / "scoring.md"


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    new, n = re.subn(r"(<!-- rules:begin -->\n).*?(<!-- rules:end -->)",
                     lambda m: m.group(1) + departures_markdown() + m.group(2), text, flags=re.S)
    if n != 1:
        raise SystemExit(f"{DOC}: expected one rules:begin/rules:end block, found {n}")
    atomic_write_text(DOC, new)
    print(f"updated {DOC}")


if __name__ == "__main__":
    main()
