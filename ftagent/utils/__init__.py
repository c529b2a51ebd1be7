"""Small shared helpers with no dependency on the rest of the package (bottom layer)."""

from ftagent.utils.io import atomic_write_json, atomic_write_text, read_json, read_jsonl, write_jsonl
from ftagent.utils.provenance import provenance

__all__ = ["atomic_write_json", "atomic_write_text", "provenance", "read_json", "read_jsonl", "write_jsonl"]
