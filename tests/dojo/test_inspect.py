"""``ftagent data info``: items and split sizes per subset, missing data and sources, licences flagged."""

from __future__ import annotations

from ftagent.dojo.inspect import data_info, licence_note
from ftagent.dojo.repository import generate_mini_data


def test_licence_note_flags_restrictions():
    assert licence_note("Apache-2.0") == "Apache-2.0"
    assert licence_note("CC BY-NC-SA 4.0") == "CC BY-NC-SA 4.0 [NON-COMMERCIAL, share-alike]"
    assert licence_note("CC BY-NC 4.0") == "CC BY-NC 4.0 [NON-COMMERCIAL]"
    assert licence_note("unclear (CC BY 4.0 badge; MIT in RD-Agent's card)").endswith("[UNCLEAR]")


def test_info_reports_items_sources_and_licences(all_tasks, tmp_path):
    tasks = [all_tasks[t] for t in ("financeiq", "tablebench_data_analysis", "tablebench_visualization")]
    generate_mini_data(tasks, tmp_path)
    (tmp_path / "tableinstruct" / "TableInstruct_instructions.jsonl").unlink()
    text = data_info(tasks + [all_tasks["aime2025"]], tmp_path)
    assert "financeiq (FinanceIQ; eval licence: CC BY-NC-SA 4.0 [NON-COMMERCIAL, share-alike])" in text
    assert "records (licence: CC BY-NC-SA 4.0 [NON-COMMERCIAL, share-alike])" in text
    assert "subsets MISSING: 期货从业资格" in text              # mini data has 4 of the 10 subjects
    assert "split group ImpactAnalysis: 20 items -> 10 validation / 10 test" in text
    assert "split group other: 140 items -> 70 validation / 70 test" in text  # every DataAnalysis item
    assert "split group Visualization: 24 items -> 12 validation / 12 test" in text
    assert "raw source tableinstruct: MISSING" in text and "licence: Apache-2.0" in text
    assert "aime2025" in text and "evaluation data: MISSING" in text
    assert "raw source deepscaler: MISSING" in text and "licence: MIT" in text
