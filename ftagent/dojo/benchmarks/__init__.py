"""Benchmark families: one short module per FT-Dojo benchmark (loading, prompting, scoring, mini data).

Importing this package registers every family and raw-source reader.
"""

from ftagent.dojo.benchmarks import aime, chemcotbench, financeiq, panorama, tablebench  # noqa: F401  (registration)
from ftagent.dojo.benchmarks.base import (
    Benchmark,
    EvalItem,
    RawSourceReader,
    benchmark_names,
    get_benchmark,
    get_reader,
)

__all__ = ["Benchmark", "EvalItem", "RawSourceReader", "benchmark_names", "get_benchmark", "get_reader"]
