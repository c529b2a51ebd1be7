"""ChemCoTBench (chemistry): molecule understanding, editing, optimisation and reactions, answered in JSON.

* **Evaluation source**: ``OpenMol/ChemCoTBench`` (split ``train`` used as evaluation; licence unclear:
  CC BY 4.0 badge, MIT in RD-Agent's card), one JSON array per subtask with records
  ``{id, query, gt, task, subtask, meta}``; ``query`` is the full prompt, ``meta`` a JSON-encoded
  string. **Data-directory layout** (what ``ftagent data fetch`` writes, the mini scale generates
  and the loader reads): ``chemcotbench/bench/<task_dir>/<subtask>.json`` with ``task_dir`` one of
  ``mol_und, mol_edit, mol_opt, rxn`` (the YAML ``eval_source.path``; the records' ``task`` says
  ``reaction`` for ``rxn``). Subsets are the subtasks; seed-42 shuffle before the held-out split.
* **Local mirror** (no hub copy): ``chemcotbench/bench_head/<task_dir>/<subtask>.json`` holds the
  first 2-3 records per subtask in the same layout, and ``chemcotbench/raw_items_from_ether0_logs/``
  the full item sets with the raw (pre-hub) field names. Where the hub file is absent the loader
  reads both: a small adapter per raw file (:data:`RAW_ADAPTERS`) maps raw fields to a hub-layout
  record with a prompt in *our* wording (same answer key and input labels as the benchmark's), and
  a head record describing the same item replaces that prompt by the benchmark's real one. Raw
  files lack the prompt content for ``rcr`` (its log duplicates ``retro``), ``nepp`` (previous
  elementary steps) and ``mechsel`` (the options), so those subsets have only their head records.
  The raw order is taken as source order; it matches the hub's first records except for ``retro``
  (hub records 0,1,2 = raw 0,1,3) and ``equivalence`` (we put the 50 permuted pairs before the
  50 mutated ones, as the hub's first records suggest), so mirror splits approximate hub splits.
* **Answers** (from the real queries): a JSON object whose key depends on the subtask
  (:data:`ANSWER_KEYS`); scorers also accept ``output`` and ``answer``. Gold repairs: ``rxn/retro``
  ``gt`` and two ``rxn/fs`` products on the hub are molecule lists joined without ``.``; the mirror
  takes the reactant list of the raw log and the product side of ``meta.rxn_smiles``, a hub record
  without them gets :func:`~ftagent.eval.scorers.chem.repair_joined_smiles` (86 of the 100 raw
  retro items repaired correctly, 8 left unrepaired, 6 split wrongly; noted in ``fields["gold_note"]``).
* **Scoring** (:mod:`ftagent.eval.scorers.chem`): counts exact; Murcko scaffold and reaction
  SMILES as sets of canonical molecules; ``ring_system_scaffold`` and ``equivalence`` are Yes/No
  questions in the real data (accuracy); ``mechsel`` option letter; editing by functional-group
  counts; optimisation by property improvement (logP, QED, ESOL log S). ``drd``, ``gsk``, ``jnk``
  need the DRD2/GSK3-beta/JNK3 activity oracles (PyTDC downloads their model files at first use),
  so they are declared unavailable and left out of the metric (:meth:`unavailable_subsets`).
* **Raw training source** ``chemcot``: ``OpenMol/ChemCoTDataset``, files
  ``chemcotbench-cot/<task>/<subtask>.json`` with ``{id, query, task, subtask, struct_cot, raw_cot,
  meta}`` (``rxn/rcr.json``: ``cot_result`` and a top-level ``gt``), read from ``chemcotdataset/``.
* **Mini**: :mod:`.chemcot_mini` generates exact items from small molecules with RDKit.
"""

from __future__ import annotations

import json
import random
import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ftagent.dojo.benchmarks.base import (
    Benchmark,
    EvalItem,
    RawSourceReader,
    register_benchmark,
    register_reader,
)
from ftagent.errors import DataError
from ftagent.eval.profiles import ScoringProfile, applies
from ftagent.eval.scorers import chem
from ftagent.eval.scoring import ItemScore, right, wrong
from ftagent.utils.io import read_json

MIRROR_HEAD = "chemcotbench/bench_head"
MIRROR_RAW = "chemcotbench/raw_items_from_ether0_logs"
COT_DIR = "chemcotdataset/chemcotbench-cot"

#: JSON answer key of each subtask, as its benchmark query asks.
ANSWER_KEYS: dict[str, str] = {
    "fg_count": "count", "ring_count": "count", "Murcko_scaffold": "Output Scaffold",
    "ring_system_scaffold": "output", "equivalence": "output",
    "add": "output", "delete": "output", "sub": "output",
    **{p: "Final Target Molecule" for p in ("drd", "gsk", "jnk", "logp", "qed", "solubility")},
    "fs": "Major Product", "retro": "Reactants", "rcr": "SMILES", "nepp": "pred_smi", "mechsel": "choice",
    # ChemCoTDataset subtask names that differ from the benchmark's
    "fs_major_product": "Major Product", "fs_by_product": "Byproduct(s)",
}
#: Keys accepted after the subtask's own.
FALLBACK_KEYS = ("output", "answer")
#: Keys the paper's evaluator reads where they differ from :data:`ANSWER_KEYS` (rule ``reaction.answer_keys``;
#: ``opencompass/datasets/chemcotbench/chemcotbench_reaction.py``, ``_extract_answer_from_response``).
PAPER_ANSWER_KEYS: dict[str, tuple[str, ...]] = {"rcr": ("condition", "answer"), "nepp": ("output", "answer")}
#: The mol_und subsets whose evaluator returns the metric key RD-Agent's UI reads for the headline (rule
#: ``mol_und.ui_metric_keys``): at the fork's HEAD only equivalence ('accuracy').
PAPER_MOL_UND_HEADLINE = ("equivalence",)
#: Subtasks scored with the paper's extraction in the ``paper`` profile (rule ``chemcot.answer_extraction``);
#: Murcko_scaffold keeps our scaffold match (its official metric, Tanimoto similarity, is not reproduced).
PAPER_SUBTASKS = ("fg_count", "ring_count", "equivalence", "ring_system_scaffold", "fs", "retro", "rcr", "nepp",
                  "mechsel")

#: Optimisation targets scored by an external activity oracle, with the oracle's name.
ORACLE_SUBTASKS = {"drd": "DRD2", "gsk": "GSK3-beta", "jnk": "JNK3"}
ORACLE_REASON = ("{name} activity oracle not available offline (PyTDC ships no oracle model; it downloads "
                 "oracle/*.pkl from Harvard Dataverse at first use)")
PROPERTY_NAMES = {"logp": "LogP", "qed": "QED (drug-likeness)", "solubility": "water solubility",
                  "drd": "DRD2 activity", "gsk": "GSK3-beta inhibition", "jnk": "JNK3 inhibition"}


def answer_keys(subtask: str) -> tuple[str, ...]:
    """JSON keys read from an answer: the subtask's own, then :data:`FALLBACK_KEYS`."""
    own = ANSWER_KEYS.get(subtask)
    return tuple(dict.fromkeys([own, *FALLBACK_KEYS] if own else FALLBACK_KEYS))


# -------------------------------------------------------------------------- prompts (our wording)
_COUNT, _YES_NO = '{{"count": <number>}}', '{{"output": "Yes" or "No"}}'


def _smiles_hint(key: str) -> str:
    """The answer-format hint of a SMILES answer, braces escaped for ``str.format``."""
    return '{{"' + key + '": "<SMILES>"}}'


def _query(task: str, inputs: str, hint: str) -> str:
    return f"{task}\n{inputs}\nAnswer in JSON: {hint}"


_MOL, _OUT = "Input Molecule: {mol}", _smiles_hint("output")
#: Prompts for items built from raw fields (mirror adapters, mini data). Our wording; the input labels
#: (``Input Molecule:``, ``Fragment Name:`` ...) and answer keys are the benchmark's, so one parser reads all.
QUERIES: dict[str, str] = {
    "fg_count": _query("Count the fragment in the molecule.", _MOL + ", Fragment Name: {fragment}.", _COUNT),
    "ring_count": _query("Count the rings of the given structure in the molecule.",
                         _MOL + ", Ring Structure: {ring}.", _COUNT),
    "Murcko_scaffold": _query("Give the Murcko scaffold of the molecule (rings and the chains linking them).",
                              _MOL + ".", _smiles_hint("Output Scaffold")),
    "ring_system_scaffold": _query("Is the ring system part of the molecule?",
                                   _MOL + ", Ring System Structure: {ring}.", _YES_NO),
    "equivalence": _query("Do the two SMILES denote the same molecule?", "Molecule A: {a}, Molecule B: {b}.",
                          _YES_NO),
    "add": _query("Add one functional group to the molecule.",
                  _MOL + ", Functional Group to add: {added}.", _OUT),
    "delete": _query("Remove one functional group from the molecule.",
                     _MOL + ", Functional Group to delete: {removed}.", _OUT),
    "sub": _query("Replace one functional group of the molecule by another.",
                  _MOL + ", Functional Group to delete: {removed}, Functional Group to add: {added}.", _OUT),
    "opt": _query("Modify the source molecule to improve its {prop}.", "Source Molecule: {mol}.",
                  _smiles_hint("Final Target Molecule")),
    "fs": _query("Predict the main product of the reaction.", "Reactants: {reactants}\nReagents: {reagents}",
                 _smiles_hint("Major Product")),
    "retro": _query("Predict the reactants that give the product.",
                    "Products: {products}\nReagents: {reagents}", _smiles_hint("Reactants")),
}

#: Short prompts of the ``compact`` style (``{brief}``), rendered from the inputs parsed out of a query.
BRIEFS: dict[str, str] = {
    "fg_count": 'Count {fragment} in {mol}. JSON {{"count": n}}',
    "ring_count": 'Count {ring} in {mol}. JSON {{"count": n}}',
    "Murcko_scaffold": 'Murcko scaffold of {mol}. JSON {{"Output Scaffold": SMILES}}',
    "ring_system_scaffold": 'Is {ring} in {mol}? JSON {{"output": Yes/No}}',
    "equivalence": 'Same molecule {a} {b}? JSON {{"output": Yes/No}}',
    "add": 'Add {added} to {mol}. JSON {{"output": SMILES}}',
    "delete": 'Remove {removed} from {mol}. JSON {{"output": SMILES}}',
    "sub": 'Swap {removed} for {added} in {mol}. JSON {{"output": SMILES}}',
    "opt": 'Raise {prop} of {mol}. JSON {{"Final Target Molecule": SMILES}}',
    "fs": 'Product of {reactants} with {reagents}. JSON {{"Major Product": SMILES}}',
    "retro": 'Reactants of {products}. JSON {{"Reactants": SMILES}}',
}

_SMILES_LABELS = {"mol": r"(?:Input|Source) Molecule", "a": "Molecule A", "b": "Molecule B",
                  "ring": r"Ring (?:System )?Structure", "reactants": "Reactants", "reagents": "Reagents",
                  "products": "Products"}
_NAME_LABELS = {"fragment": "Fragment Name", "added": "Functional Group to add",
                "removed": "Functional Group to delete"}


def query_inputs(query: str) -> dict[str, str]:
    """Inputs named by the benchmark's labels in a query (``Input Molecule: X, ...`` -> ``{"mol": "X"}``)."""
    out: dict[str, str] = {}
    for key, label in _SMILES_LABELS.items():
        m = re.search(rf"{label}:[ \t]*([^\s,]+)", query)
        if m:
            out[key] = m.group(1).removesuffix(".")
    for key, label in _NAME_LABELS.items():
        m = re.search(rf"{label}:[ \t]*([^,\n]+)", query)
        if m:
            out[key] = m.group(1).strip().removesuffix(".").strip()
    return out


def _family(subtask: str) -> str:
    return "opt" if subtask in PROPERTY_NAMES else subtask


def brief(subtask: str, query: str, extra: dict[str, str] | None = None) -> str:
    """The compact prompt of an item: :data:`BRIEFS` filled from the query's inputs, else the query."""
    tmpl = BRIEFS.get(_family(subtask))
    if not tmpl:
        return query
    values = {**query_inputs(query), "prop": PROPERTY_NAMES.get(subtask, ""), **(extra or {})}
    values["reagents"] = values.get("reagents") or "none"  # optional in reaction prompts
    needed = {f for _, f, _, _ in string.Formatter().parse(tmpl) if f}
    return tmpl.format(**values) if needed <= {k for k, v in values.items() if v} else query


def molecule_key(text: str) -> str:
    """The molecules a text names, as sorted canonical SMILES (3+ heavy atoms) joined by spaces.

    The text itself when it names none. The leakage guard compares these keys, so two prompts about the
    same molecules match whatever their wording (prompt boilerplate alone never does).
    """
    found = set()
    for tok in re.findall(r"[^\s,;:'\"`]+", text or ""):
        tok = tok.removesuffix(".")
        if len(tok) < 3 or not re.fullmatch(r"[A-Za-z0-9@+\-\[\]()=#$/\\%.*]+", tok):
            continue
        bare = re.fullmatch(r"(?:Cl|Br|[BCNOSPFI]|[cnos])+", tok) and tok.count("C") >= 2  # CCO, not BOP
        if not (re.search(r"[()\[\]=#1-9]", tok) or bare):
            continue
        mol = chem.parse_smiles(tok)
        if mol is not None and mol.GetNumHeavyAtoms() >= 3:
            found.add(chem.Chem.MolToSmiles(mol))
    return " ".join(sorted(found)) if found else str(text or "")


# ------------------------------------------------------------------------------- records -> items
def parse_meta(meta: Any) -> dict[str, Any]:
    """``meta`` as a dict (the hub stores a JSON-encoded string; a malformed one reads as empty)."""
    if isinstance(meta, dict):
        return meta
    try:
        out = json.loads(meta) if isinstance(meta, str) and meta.strip() else {}
    except json.JSONDecodeError:
        return {}
    return out if isinstance(out, dict) else {}


def _fs_gold(gt: Any, meta: dict[str, Any]) -> tuple[str, str]:
    rxn = meta.get("rxn_smiles")
    if isinstance(rxn, str) and rxn.count(">") == 2 and rxn.rsplit(">", 1)[1]:
        return rxn.rsplit(">", 1)[1], ""
    major = parse_meta(gt).get("Major Product", gt) if isinstance(gt, str | dict) else gt
    return _repaired(str(major))


def _repaired(gold: str) -> tuple[str, str]:
    fixed = chem.repair_joined_smiles(gold)
    if fixed is None:
        return gold, "gold is not a valid SMILES and could not be split unambiguously"
    return fixed, "" if fixed == gold else "gold repaired: molecules were joined without '.'"


def to_item(rec: dict[str, Any], subtask: str, where: str) -> EvalItem:
    """One hub-layout record as an evaluation item.

    Raises:
        DataError: a field the subtask needs is missing or malformed (names ``where``: file and record).
    """
    query, gt, meta = rec.get("query"), rec.get("gt"), parse_meta(rec.get("meta"))
    if not isinstance(query, str) or not query.strip():
        raise DataError(f"{where}: record has no 'query'")
    inputs = query_inputs(query)
    fields: dict[str, Any] = {"question": query}
    extra: dict[str, str] = {}
    note = ""
    if subtask in ("fg_count", "ring_count"):
        try:
            answer: Any = int(str(gt).strip())
        except ValueError:
            raise DataError(f"{where}: 'gt' {gt!r} is not an integer count") from None
    elif subtask in ("ring_system_scaffold", "equivalence"):
        answer = str(gt).strip().capitalize()
        if answer not in ("Yes", "No"):
            raise DataError(f"{where}: 'gt' {gt!r} is not Yes/No")
    elif subtask in ("add", "delete", "sub"):
        fields.update(source=meta.get("source") or inputs.get("mol", ""),
                      added_group=meta.get("added_group") or inputs.get("added"),
                      removed_group=meta.get("removed_group") or inputs.get("removed"))
        extra = {"added": fields["added_group"] or "", "removed": fields["removed_group"] or ""}
        answer = meta.get("reference", "")
    elif subtask in PROPERTY_NAMES:
        fields["source"] = meta.get("source") or inputs.get("mol", "")
        answer = meta.get("reference", "")
    elif subtask == "fs":
        hub = parse_meta(gt).get("Major Product", gt) if isinstance(gt, str) and gt.startswith("{") else gt
        fields["hub_gold"] = str(hub if hub is not None else "")
        answer, note = _fs_gold(gt, meta)
        if meta.get("reactants"):
            extra = {"reactants": ".".join(meta["reactants"]),
                     "reagents": ".".join(meta.get("reagents") or [])}
    elif subtask == "retro":
        fields["hub_gold"] = str(gt if gt is not None else "")
        reactants = meta.get("reactants")
        if isinstance(reactants, list) and reactants:
            answer, note = ".".join(reactants), ""
        else:
            answer, note = _repaired(str(gt))
    elif subtask == "mechsel":
        answer = str(gt).strip().upper()
    else:  # Murcko_scaffold, rcr, nepp: a SMILES gold
        answer = str(gt if gt is not None else "").strip()
    if answer in (None, "") and subtask not in PROPERTY_NAMES:
        raise DataError(f"{where}: no gold answer ('gt' / meta 'reference') for subtask {subtask}")
    fields["brief"] = brief(subtask, query, extra)
    if note:
        fields["gold_note"] = note
    return EvalItem(id=f"{subtask}/{rec.get('id', where)}", subset=subtask, fields=fields, answer=answer)


# ------------------------------------------------------------------------- mirror: raw-log adapters
Adapted = tuple[dict[str, Any], list[str]]  # (hub-layout record, strings a matching head query contains)


def _record(row: dict[str, Any], subtask: str, task: str, query: str, gt: Any = "",
            meta: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": row.get("id", ""), "query": query, "gt": gt, "task": task, "subtask": subtask,
            "meta": json.dumps(meta or {})}


def _adapt_fg(row: dict) -> Adapted:
    q = QUERIES["fg_count"].format(mol=row["smiles"], fragment=row["fg_name"])
    meta = {"fg_smarts": row.get("fg_smarts"), "fg_label": row.get("fg_label")}
    return (_record(row, "fg_count", "mol_und", q, int(row["fg_num"]), meta),
            [f"Input Molecule: {row['smiles']}, Fragment Name: {row['fg_name']}"])


def _adapt_ring(row: dict) -> Adapted:
    q = QUERIES["ring_count"].format(mol=row["smiles"], ring=row["ring"])
    return (_record(row, "ring_count", "mol_und", q, int(row["count"])),
            [f"Input Molecule: {row['smiles']}, Ring Structure: {row['ring']}"])


def _adapt_murcko(row: dict) -> Adapted:
    q = QUERIES["Murcko_scaffold"].format(mol=row["smiles"])
    match = [f"Input Molecule: {row['smiles']}."]
    return _record(row, "Murcko_scaffold", "mol_und", q, row["largest_scaffold"]), match


def _adapt_equivalence(row: dict) -> Adapted:
    other, gt = (row["permutated"], "Yes") if "permutated" in row else (row["mutated"], "No")
    q = QUERIES["equivalence"].format(a=row["smiles"], b=other)
    match = [f"Molecule A: {row['smiles']}, Molecule B: {other}"]
    return _record(row, "equivalence", "mol_und", q, gt), match


def _adapt_edit(subtask: str) -> Callable[[dict], Adapted]:
    def adapt(row: dict) -> Adapted:
        added, removed = row.get("added_group"), row.get("removed_group")
        q = QUERIES[subtask].format(mol=row["molecule"], added=added, removed=removed)
        meta = {"reference": row["reference"], **({"added_group": added} if added else {}),
                **({"removed_group": removed} if removed else {})}
        match = [f"Input Molecule: {row['molecule']},", *([f"to add: {added}"] if added else []),
                 *([f"to delete: {removed}"] if removed else [])]
        return _record(row, subtask, "mol_edit", q, "", meta), match
    return adapt


def _adapt_opt(subtask: str) -> Callable[[dict], Adapted]:
    def adapt(row: dict) -> Adapted:
        q = QUERIES["opt"].format(prop=PROPERTY_NAMES[subtask], mol=row["src_smiles"])
        return _record(row, subtask, "mol_opt", q, "", {}), [f"Source Molecule: {row['src_smiles']}."]
    return adapt


def _adapt_fs(row: dict) -> Adapted:
    meta = parse_meta(row.get("meta"))
    q = QUERIES["fs"].format(reactants=".".join(meta.get("reactants", [])),
                             reagents=".".join(meta.get("reagents", [])))
    return _record(row, "fs", "reaction", q, row.get("gt", ""), meta), []


def _adapt_retro(row: dict) -> Adapted:
    meta = {k: row.get(k) for k in ("rxn_cls", "reagents", "products", "reactants")}
    q = QUERIES["retro"].format(products=".".join(row["products"]),
                                reagents=".".join(row.get("reagents") or []))
    # gt as the hub stores it (the molecules joined without '.'); the answer comes from meta.reactants
    return _record(row, "retro", "reaction", q, "".join(row["reactants"]), meta), []


#: Per subtask: the raw-log files (read in this order) and the adapter of one row.
RAW_ADAPTERS: dict[str, tuple[list[str], Callable[[dict], Adapted]]] = {
    "fg_count": (["fg_samples.json"], _adapt_fg),
    "ring_count": (["ring_count.json"], _adapt_ring),
    "Murcko_scaffold": (["murcko_scaffold.json"], _adapt_murcko),
    "ring_system_scaffold": (["ring_system_scaffold.json"], lambda row: (row, [])),  # already hub layout
    "equivalence": (["permutated.json", "mutated.json"], _adapt_equivalence),
    **{s: ([f"{s}.json"], _adapt_edit(s)) for s in ("add", "delete", "sub")},
    **{s: ([f"{s}.json"], _adapt_opt(s)) for s in PROPERTY_NAMES},
    "fs": (["fs.json"], _adapt_fs),
    "retro": (["retro.json"], _adapt_retro),
}


def _json_list(path: Path, task: str) -> list[dict[str, Any]]:
    try:
        rows = read_json(path)
    except DataError as e:
        raise DataError(f"task {task}: {e}") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise DataError(f"task {task}: {path} must be a JSON array of objects")
    return rows


def mirror_records(data_dir: Path, task_dir: str, subtask: str, task: str) -> list[tuple[dict, str]]:
    """A subset's records from the mirror layout, each with a ``where`` label for error messages.

    Adapted raw-log rows come first, in raw order (with the head's real prompt where a head record
    describes the same item: same id, or its query contains the row's labelled inputs), then any head
    record left unmatched.
    """
    head_path = Path(data_dir) / MIRROR_HEAD / task_dir / f"{subtask}.json"
    head = _json_list(head_path, task) if head_path.exists() else []
    files, adapt = RAW_ADAPTERS.get(subtask, ([], None))
    out: list[tuple[dict, str]] = []
    used: set[int] = set()
    for name in files:
        path = Path(data_dir) / MIRROR_RAW / name
        if not path.exists():
            continue
        for i, row in enumerate(_json_list(path, task)):
            try:
                rec, match = adapt(row)
            except (KeyError, TypeError, ValueError) as e:
                raise DataError(f"task {task}: {path} record {i}: cannot adapt "
                                f"({type(e).__name__}: {e})") from None
            for j, h in enumerate(head):
                same = (h.get("id") and h.get("id") == rec.get("id")) or (
                    match and all(m in str(h.get("query", "")) for m in match))
                if j not in used and same:
                    used.add(j)
                    meta = {**parse_meta(rec.get("meta")), **parse_meta(h.get("meta"))}
                    meta.update({k: v for k, v in parse_meta(rec.get("meta")).items() if k == "reactants"})
                    rec = {**rec, "id": h["id"], "query": h["query"], "meta": json.dumps(meta)}
                    break
            out.append((rec, f"{path} record {i}"))
    out += [(h, f"{head_path} record {j}") for j, h in enumerate(head) if j not in used]
    return out


# ------------------------------------------------------------------------------------ the family
@register_benchmark
class ChemCoTBench(Benchmark):
    """ChemCoTBench subtasks of one task (``mol_und``, ``mol_edit``, ``mol_opt`` or ``rxn``)."""

    name = "chemcotbench"

    @property
    def task_dir(self) -> str:
        """The task folder of the layout (last component of ``eval_source.path``, e.g. ``rxn``)."""
        return Path(self.spec.eval_source.path).name

    def unavailable_subsets(self) -> dict[str, str]:
        return {s: ORACLE_REASON.format(name=ORACLE_SUBTASKS[s])
                for s in self.spec.eval_source.subsets if s in ORACLE_SUBTASKS}

    def load_subsets(self, data_dir: Path) -> dict[str, list[EvalItem]]:
        data_dir = Path(data_dir)
        bench = data_dir / self.spec.eval_source.path
        mirror = data_dir / MIRROR_HEAD / self.task_dir
        if not bench.is_dir() and not mirror.is_dir():
            raise DataError(f"task {self.spec.id}: evaluation data not found: {bench} "
                            f"(nor the mirror layout {mirror})")
        out: dict[str, list[EvalItem]] = {}
        for sub in self.spec.eval_source.subsets:
            path = bench / f"{sub}.json"
            if path.exists():
                recs = [(r, f"{path} record {i}") for i, r in enumerate(_json_list(path, self.spec.id))]
            else:
                recs = mirror_records(data_dir, self.task_dir, sub, self.spec.id)
            items = [to_item(r, sub, f"task {self.spec.id}: {where}") for r, where in recs]
            if items:
                out[sub] = items
        return out

    def reference_output(self, item: EvalItem) -> str:
        return json.dumps({answer_keys(item.subset)[0]: item.answer})

    def leakage_text(self, item: EvalItem) -> str:
        """The molecules of the prompt (:func:`molecule_key`), not its boilerplate."""
        return molecule_key(item.fields["question"])

    def score(self, output: str, item: EvalItem, profile: ScoringProfile = "benchmark") -> ItemScore:
        """Score one output. ``paper`` differs for reactions: rcr/nepp answer keys and rcr text match
        (rule ``reaction.answer_keys``), fs/retro against the hub's gold by InChI
        (``reaction.retro_gold_unrepaired``)."""
        sub, f, keys = item.subset, item.fields, answer_keys(item.subset)
        if sub in PAPER_SUBTASKS and applies("chemcot.answer_extraction", profile):
            return self._score_paper(output, item)
        if sub in PAPER_ANSWER_KEYS and applies("reaction.answer_keys", profile):
            if sub == "rcr":
                return chem.score_text_exact(output, str(item.answer), PAPER_ANSWER_KEYS[sub])
            return chem.score_smiles_inchi(output, str(item.answer), PAPER_ANSWER_KEYS[sub])
        if sub in ("fs", "retro") and applies("reaction.retro_gold_unrepaired", profile):
            return chem.score_smiles_inchi(output, str(f.get("hub_gold", item.answer)), keys)
        if sub in ("fg_count", "ring_count"):
            return chem.score_count(output, item.answer, keys)
        if sub in ("ring_system_scaffold", "equivalence"):
            return chem.score_yes_no(output, item.answer, keys)
        if sub == "mechsel":
            return chem.score_choice_letter(output, item.answer, keys)
        if sub in ("add", "delete", "sub"):
            groups = chem.PAPER_FUNCTIONAL_GROUPS if applies("chemcot.fg_definitions_esol", profile) else None
            return chem.score_edit(output, f["source"], f.get("added_group"), f.get("removed_group"), keys, groups)
        if sub in ORACLE_SUBTASKS:
            return wrong(self.unavailable_subsets().get(sub, "oracle unavailable"))
        if sub in chem.PROPERTIES:
            props = chem.PAPER_PROPERTIES if applies("chemcot.fg_definitions_esol", profile) else None
            return chem.score_improvement(output, f["source"], sub, keys, props)
        return chem.score_smiles_match(output, str(item.answer), keys)

    def _score_paper(self, output: str, item: EvalItem) -> ItemScore:
        """The fork's extraction (``chemcot.answer_extraction``) and comparison per subtask: counts and
        Yes/No as text, mechsel by first letter, rcr as lower-cased text, fs/retro/nepp by InChI against
        the hub's gold (``reaction.retro_gold_unrepaired``)."""
        from ftagent.eval.scorers.paper_extraction import chemcot_answer

        sub = item.subset
        pred = chemcot_answer(output, sub)
        if pred is None:
            return wrong("nothing read (paper extraction)")
        if sub in ("fg_count", "ring_count"):
            try:
                ok = int(pred) == int(item.answer)
            except (TypeError, ValueError):
                return wrong(f"{pred[:40]!r} is not a count (paper extraction)", pred)
        elif sub in ("equivalence", "ring_system_scaffold"):
            ok = pred.lower() == str(item.answer).lower()
        elif sub == "mechsel":
            first = lambda t: (re.search(r"[A-Z]", t.upper()) or [""])[0]  # noqa: E731
            ok = first(pred) == first(str(item.answer))
        elif sub == "rcr":
            ok = pred.lower().strip() == str(item.answer).lower().strip()
        else:  # fs, retro, nepp
            return chem.inchi_match(pred, str(item.fields.get("hub_gold", item.answer)))
        return right(pred) if ok else wrong(f"read {pred[:60]!r} (paper extraction), gold {item.answer!r}", pred)

    def headline(self, subsets: dict[str, float], items: list[EvalItem], scores: list[ItemScore],
                 profile: ScoringProfile = "benchmark") -> float:
        """Mean over subsets; ``paper``: mol_opt divides by all 6 subsets, the oracle ones scoring 0
        (``mol_opt.oracle_subsets_zero``), mol_und averages only the subsets the UI reads
        (``mol_und.ui_metric_keys``: equivalence)."""
        if self.task_dir == "mol_opt" and applies("mol_opt.oracle_subsets_zero", profile):
            n = len(subsets) + len([s for s in self.unavailable_subsets() if s not in subsets])
            return sum(subsets.values()) / n if n else 0.0
        if self.task_dir == "mol_und" and applies("mol_und.ui_metric_keys", profile):
            known = [v for k, v in subsets.items() if k in PAPER_MOL_UND_HEADLINE]
            return sum(known) / len(known) if known else 0.0
        return super().headline(subsets, items, scores, profile)

    def write_mini(self, data_dir: Path, rng: random.Random) -> None:
        from ftagent.dojo.benchmarks import chemcot_mini

        src = self.spec.eval_source
        chemcot_mini.write_bench(Path(data_dir) / src.path, src.subsets, rng)


# ---------------------------------------------------------------- raw source: ChemCoTDataset
def _struct_steps(cot: Any) -> tuple[str, Any]:
    """``struct_cot`` (a JSON object, possibly JSON-encoded twice or fenced) as step text and its output."""
    for _ in range(3):
        if isinstance(cot, str):
            text = cot.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
            try:
                cot = json.loads(text)
                continue
            except json.JSONDecodeError:
                return text, None
        break
    if isinstance(cot, dict):
        steps = "\n".join(f"{k}: {v}" for k, v in cot.items() if k != "output")
        return steps, cot.get("output")
    return ("" if cot is None else str(cot)), None


def normalise_cot_record(row: dict[str, Any], task: str, subtask: str) -> dict[str, Any]:
    """A ChemCoTDataset row with its own fields plus derived ones for training-data scripts.

    * ``answer``: the answer JSON in the benchmark's format (``{"<key>": value}``), with the value from
      ``meta.gt``, else a top-level ``gt`` (``rcr``), else ``meta.reference``, else ``struct_cot``'s
      ``output``; empty when none exists;
    * ``cot``: ``struct_cot``'s steps followed by the answer JSON (empty without steps or answer);
    * ``brief``: the compact prompt (:func:`brief`; the query itself when its inputs are not labelled).
    """
    row = dict(row)
    if "cot_result" in row and "struct_cot" not in row:
        row["struct_cot"] = row.pop("cot_result")
    row.setdefault("task", task)
    row.setdefault("subtask", subtask)
    meta = parse_meta(row.get("meta"))
    steps, cot_out = _struct_steps(row.get("struct_cot"))
    value = next((v for v in (meta.get("gt"), row.get("gt"), meta.get("reference"), cot_out)
                  if v not in (None, "")), None)
    sub = str(row["subtask"])
    answer = json.dumps({answer_keys(sub)[0]: value}, ensure_ascii=False) if value is not None else ""
    row["answer"] = answer
    row["cot"] = f"{steps}\n{answer}" if steps and answer else ""
    row["brief"] = brief(sub, str(row.get("query", "")))
    return row


def read_chemcot(data_dir: Path) -> list[dict[str, Any]]:
    """All ChemCoTDataset rows under ``chemcotdataset/chemcotbench-cot/<task>/<subtask>.json``, normalised.

    Raises:
        DataError: no such file (the dataset was not fetched), or a file is not a JSON array.
    """
    root = Path(data_dir) / COT_DIR
    files = sorted(root.glob("*/*.json"))
    if not files:
        raise DataError(f"source chemcot: no files {COT_DIR}/<task>/<subtask>.json in {data_dir} "
                        f"(OpenMol/ChemCoTDataset not fetched)")
    rows: list[dict[str, Any]] = []
    for f in files:
        for r in _json_list(f, "source chemcot"):
            rows.append(normalise_cot_record(r, f.parent.name, f.stem))
    return rows


def _write_mini_chemcot(data_dir: Path, rng: random.Random) -> None:
    from ftagent.dojo.benchmarks import chemcot_mini

    chemcot_mini.write_cot_source(Path(data_dir) / COT_DIR, rng)


register_reader("chemcot", RawSourceReader(
    read=read_chemcot, write_mini=_write_mini_chemcot, text=lambda r: molecule_key(str(r.get("query", ""))),
    files=[COT_DIR]))
