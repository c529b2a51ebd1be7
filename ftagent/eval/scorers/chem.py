"""Chemistry answers (ChemCoTBench): JSON answer extraction, SMILES checks and RDKit-based scores.

ChemCoTBench (Li et al. 2025, arXiv 2505.21318; hub ``OpenMol/ChemCoTBench``) asks for a JSON object
whose key depends on the subtask (``{"output": ...}``, ``{"count": ...}``, ``{"Output Scaffold": ...}``,
``{"Final Target Molecule": ...}``, ``{"Major Product": ...}``, ``{"Reactants": ...}``,
``{"SMILES": ...}``, ``{"pred_smi": ...}``, ``{"choice": ...}``); each scorer takes the keys to look
for, in order of preference. Our rules (written for this project, checked on the real items):

* **Extraction.** ``<think>`` blocks are dropped; every ``{...}`` in the output is decoded (strict
  JSON, then JSON with trailing commas removed, then a Python literal); the *last* object holding one
  of the keys wins, so prose and example JSON before the answer do not matter, nor do extra keys.
  A truncated object (``{"output": "CCO"`` with no closing brace) is read by a key regex.
* **SMILES.** Parsed with RDKit (``MolFromSmiles``, default sanitisation); empty or longer than
  :data:`MAX_SMILES_CHARS` counts as invalid. Molecules are compared as *sets of canonical isomeric
  SMILES fragments* (``"B.A"`` = ``"A.B"``; a repeated fragment counts once), so a correct molecule
  written in a non-canonical SMILES matches. ChemCoTBench's own evaluator compares InChI strings;
  canonical SMILES is the same test up to InChI's tautomer/charge normalisation (stricter here).
* **Functional groups** (molecule editing): counts of non-overlapping SMARTS matches of
  :data:`FUNCTIONAL_GROUPS` (our SMARTS, standard definitions). An edit is correct when the output is
  valid and the count of the requested group changes by exactly one in the requested direction
  (``sub``: the removed group -1 and the added group +1); the rest of the molecule is not checked.
  This is the rule of ChemCoTBench's ``eval_moledit`` (count difference of one).
* **Properties** (molecule optimisation): Crippen logP (Wildman & Crippen 1999), QED (Bickerton et al.
  2012), and for solubility an ESOL estimate of log S (Delaney 2004, with RDKit's Crippen logP):
  ``0.16 - 0.63 logP - 0.0062 MW + 0.066 RB - 0.74 AP``. Success = valid output whose property is
  strictly higher than the source molecule's (higher log S = more soluble).

Every scorer returns an :class:`~ftagent.eval.scoring.ItemScore` and never raises on model output;
RDKit's own stderr logging is silenced when this module is imported.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from rdkit import Chem, RDLogger
from rdkit.Chem import QED, Crippen, Descriptors, rdMolDescriptors

from ftagent.eval.scorers.objects import balanced_end
from ftagent.eval.scoring import ItemScore, right, wrong

RDLogger.DisableLog("rdApp.*")

#: Longest SMILES parsed (guards against pathological outputs).
MAX_SMILES_CHARS = 2000

# ------------------------------------------------------------------------------------ extraction
_THINK = re.compile(r"<think>.*?(</think>|$)", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_DECODER = json.JSONDecoder()


def _decode_at(text: str, start: int) -> tuple[Any, int]:
    """Decode the object starting at ``start``: (object or None, index to continue from)."""
    try:
        obj, end = _DECODER.raw_decode(text, start)
        return obj, end
    except ValueError:
        pass
    end = balanced_end(text, start)
    if end is None:
        return None, start + 1
    chunk = _TRAILING_COMMA.sub(r"\1", text[start:end])
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(chunk), end
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return None, start + 1


def json_objects(text: str) -> list[dict[str, Any]]:
    """Every top-level JSON object (dict) found in ``text``, in order of appearance."""
    text = _THINK.sub("", text or "")
    out: list[dict[str, Any]] = []
    i = text.find("{")
    while i != -1:
        obj, nxt = _decode_at(text, i)
        if isinstance(obj, dict):
            out.append(obj)
        i = text.find("{", max(nxt, i + 1))
    return out


def extract_answer(output: str, keys: Sequence[str]) -> tuple[Any, str]:
    """The answer value of a model output.

    Args:
        output: Raw model output.
        keys: JSON keys to look for, most preferred first (e.g. ``("count", "output", "answer")``).

    Returns:
        ``(value, "")`` from the last JSON object holding one of ``keys`` (the first such key in
        ``keys`` order), or ``(None, reason)`` when there is none.
    """
    if not output or not output.strip():
        return None, "empty output"
    objects = json_objects(output)
    for obj in reversed(objects):
        for k in keys:
            if k in obj:
                return obj[k], ""
    text = _THINK.sub("", output)
    for k in keys:  # truncated or otherwise broken JSON: read the key's value directly
        m = re.search(rf'"{re.escape(k)}"\s*:\s*(?:"([^"\n]*)"|(-?\d+(?:\.\d+)?))', text)
        if m:
            return (m.group(1) if m.group(1) is not None else m.group(2)), ""
    if not objects:
        return None, "no JSON object in output"
    return None, f"JSON has none of the keys {list(keys)}"


def _as_text(value: Any) -> str | None:
    """A string answer; lists of strings are joined with ``.`` (several molecules)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return ".".join(v.strip() for v in value)
    return None


# ---------------------------------------------------------------------------------------- SMILES
def parse_smiles(smiles: Any) -> Chem.Mol | None:
    """An RDKit molecule, or None for anything RDKit rejects (also empty, non-string or too long)."""
    if not isinstance(smiles, str):
        return None
    s = smiles.strip()
    if not s or len(s) > MAX_SMILES_CHARS or any(c.isspace() for c in s):
        return None
    try:
        mol = Chem.MolFromSmiles(s)
    except Exception:  # RDKit raises on a few inputs instead of returning None
        return None
    return mol if mol is not None and mol.GetNumAtoms() > 0 else None


def canonical(smiles: Any) -> str | None:
    """Canonical isomeric SMILES, or None when invalid."""
    mol = parse_smiles(smiles)
    return Chem.MolToSmiles(mol) if mol is not None else None


def fragments(smiles: Any) -> frozenset[str] | None:
    """The set of canonical SMILES of the ``.``-separated molecules, or None when invalid."""
    can = canonical(smiles)
    return frozenset(can.split(".")) if can else None


@functools.lru_cache(maxsize=65536)
def _valid(s: str) -> bool:
    return parse_smiles(s) is not None


def repair_joined_smiles(smiles: str, max_parts: int = 3) -> str | None:
    """Undo a join without separators: ``"CCOO=C1CCC1"`` -> ``"CCO.O=C1CCC1"`` when unambiguous.

    Some ChemCoTBench gold strings (``rxn/retro`` ``gt``, two ``rxn/fs`` major products) are lists of
    molecules joined with ``""`` instead of ``"."``. The repair succeeds only when exactly one split
    into at most ``max_parts`` valid molecules exists.

    Returns:
        ``smiles`` itself when it parses, the unique repaired string, or None (ambiguous or impossible).
    """
    if _valid(smiles):
        return smiles
    for parts in range(2, max_parts + 1):
        found = _splits(smiles, parts, limit=2)
        if len(found) == 1:
            return ".".join(found[0])
        if len(found) > 1:
            return None
    return None


def _splits(s: str, parts: int, limit: int) -> list[list[str]]:
    if parts == 1:
        return [[s]] if _valid(s) else []
    out: list[list[str]] = []
    for i in range(1, len(s)):
        if not _valid(s[:i]):
            continue
        for rest in _splits(s[i:], parts - 1, limit):
            out.append([s[:i], *rest])
            if len(out) >= limit:
                return out
    return out


# ------------------------------------------------------------------------------ simple answers
def score_count(output: str, gold: int, keys: Sequence[str] = ("count", "output", "answer")) -> ItemScore:
    """1 when the answer is the integer ``gold`` (``2``, ``"2"`` and ``"2.0"`` all read as 2)."""
    value, why = extract_answer(output, keys)
    if value is None:
        return wrong(why)
    n: int | None = None
    if isinstance(value, bool):
        n = None
    elif isinstance(value, int):
        n = value
    elif isinstance(value, float) and value.is_integer():
        n = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+(\.0*)?\s*", value):
        n = int(float(value))
    if n is None:
        return wrong(f"count {value!r} is not an integer", value)
    return right(n) if n == int(gold) else wrong(f"count {n} != {gold}", n)


def score_yes_no(output: str, gold: str, keys: Sequence[str] = ("output", "answer")) -> ItemScore:
    """1 when the answer is ``Yes``/``No`` (any case, surrounding punctuation ignored) and equals ``gold``."""
    value, why = extract_answer(output, keys)
    if value is None:
        return wrong(why)
    text = str(value).strip().strip(" .!\"'").lower()
    if text not in ("yes", "no"):
        return wrong(f"answer {value!r} is not Yes/No", value)
    return right(text.capitalize()) if text == str(gold).strip().lower() else wrong(
        f"answer {text.capitalize()} != {gold}", text.capitalize())


def score_choice_letter(output: str, gold: str,
                        keys: Sequence[str] = ("choice", "answer", "output")) -> ItemScore:
    """1 when the chosen option letter (``"G"``, ``"(G)"``, ``"G: ..."``) equals the gold letter."""
    value, why = extract_answer(output, keys)
    if value is None:
        return wrong(why)
    m = re.match(r"\s*\(?([A-Za-z])\)?\s*(?:[:.)]|$)", str(value))
    if not m:
        return wrong(f"choice {value!r} is not an option letter", value)
    letter = m.group(1).upper()
    if letter != str(gold).strip().upper():
        return wrong(f"chose {letter}, gold {gold}", letter)
    return right(letter)


def score_smiles_match(output: str, gold: str, keys: Sequence[str]) -> ItemScore:
    """1 when the answer's molecules equal the gold's as sets of canonical SMILES.

    ``details["valid"]`` says whether the answer parsed (for valid rates).
    """
    gold_set = fragments(gold)
    if gold_set is None:
        return wrong(f"gold SMILES {gold!r} is not valid (data issue)", valid=None)
    value, why = extract_answer(output, keys)
    if value is None:
        return wrong(why, valid=False)
    text = _as_text(value)
    pred = fragments(text)
    if pred is None:
        return wrong(f"invalid SMILES {str(value)[:80]!r}", value, valid=False)
    shown = ".".join(sorted(pred))
    if pred != gold_set:
        return wrong(f"molecule {shown[:80]} != gold", shown, valid=True)
    return right(shown, valid=True)


# --------------------------------------------------------------------------- functional groups
#: SMARTS of the functional groups named in ChemCoTBench edits (and counting prompts), our definitions.
FUNCTIONAL_GROUPS: dict[str, str] = {
    "hydroxyl": "[OX2H][#6;!$([CX3]=O)]",                 # OH on carbon (alcohol, phenol, enol), not acid
    "aldehyde": "[CX3H1](=O)[#6]",
    "ketone": "[#6][CX3](=O)[#6]",
    "carboxyl": "[CX3](=O)[OX2H1,OX1-]",                 # acid or carboxylate
    "ester": "[#6][CX3](=O)[OX2H0][#6]",
    "amide": "[NX3][CX3](=[OX1])[#6]",
    "amine": "[NX3;H2,H1;!$(N[#6,#16]=[O,S,N]);!$(N-[N,O,S])]",  # primary/secondary, not amide-like
    "nitro": "[$([NX3](=O)=O),$([NX3+](=O)[O-])][!#8]",
    "nitrile": "[NX1]#[CX2]",
    "halo": "[F,Cl,Br,I]",
    "thiol": "[#16X2H]",
    "benzene_ring": "c1ccccc1",
}
#: The paper profile's groups (rule ``chemcot.fg_definitions_esol``): the definitions that differ in the
#: paper's evaluator (``opencompass/datasets/chemcotbench/chemcotbench_mol_edit.py``, after ChemCoTBench's
#: ``eval_moledit.py``): any OH oxygen is a hydroxyl (acids included), carboxyl is the neutral acid only,
#: an amine is any N(H) not bonded to a carbonyl carbon, and the benzene ring's atoms must be in one ring.
PAPER_FUNCTIONAL_GROUPS: dict[str, str] = {
    **FUNCTIONAL_GROUPS,
    "hydroxyl": "[OX2H]",
    "carboxyl": "[CX3](=O)[OX2H1]",
    "amine": "[NX3;H2,H1;!$(NC=O)]",
    "benzene_ring": "[cR1]1[cR1][cR1][cR1][cR1][cR1]1",
}
#: Other spellings of the same groups.
GROUP_ALIASES = {"benzene": "benzene_ring", "halogen": "halo", "carboxylic acid": "carboxyl",
                 "carboxylic_acid": "carboxyl", "cyano": "nitrile", "hydroxy": "hydroxyl"}


@functools.cache
def _pattern(smarts: str) -> Chem.Mol:
    return Chem.MolFromSmarts(smarts)


def group_name(name: str) -> str | None:
    """The :data:`FUNCTIONAL_GROUPS` key of a group name (case and alias tolerant), or None."""
    key = str(name or "").strip().lower().replace("-", "_")
    key = GROUP_ALIASES.get(key, GROUP_ALIASES.get(key.replace("_", " "), key))
    return key if key in FUNCTIONAL_GROUPS else None


def count_group(mol: Chem.Mol, name: str, groups: dict[str, str] | None = None) -> int | None:
    """Number of (unique) matches of a functional group in a molecule; None for an unknown group.

    ``groups`` replaces :data:`FUNCTIONAL_GROUPS` (the paper profile's :data:`PAPER_FUNCTIONAL_GROUPS`).
    """
    key = group_name(name)
    table = groups or FUNCTIONAL_GROUPS
    return None if key is None else len(mol.GetSubstructMatches(_pattern(table[key])))


def edit_check(source: str, target: str, added: str | None, removed: str | None,
               groups: dict[str, str] | None = None) -> tuple[bool, str]:
    """Whether ``target`` is ``source`` with one ``added`` group more and/or one ``removed`` group less.

    Returns:
        ``(ok, reason)``; the reason says which count is off (empty when ok).
    """
    src, tgt = parse_smiles(source), parse_smiles(target)
    if src is None:
        return False, f"source molecule {source!r} is not valid (data issue)"
    if tgt is None:
        return False, "invalid SMILES"
    for group, delta in ((added, +1), (removed, -1)):
        if not group:
            continue
        a, b = count_group(src, group, groups), count_group(tgt, group, groups)
        if a is None:
            return False, f"unknown functional group {group!r}"
        if b != a + delta:
            return False, f"{group} count {a} -> {b}, expected {a + delta}"
    if not added and not removed:
        return False, "no group to add or remove (data issue)"
    return True, ""


def score_edit(output: str, source: str, added: str | None, removed: str | None,
               keys: Sequence[str] = ("output", "answer"), groups: dict[str, str] | None = None) -> ItemScore:
    """Molecule editing: 1 when the output is a valid molecule with the requested group change.

    Args:
        output: Raw model output.
        source: The input molecule (SMILES).
        added: Group to add (``add`` and ``sub``), else None.
        removed: Group to remove (``delete`` and ``sub``), else None.
        keys: JSON keys of the answer.
        groups: Functional-group SMARTS by name (default :data:`FUNCTIONAL_GROUPS`).

    Returns:
        Score 1 or 0; ``details["valid"]`` tells whether the output parsed (ChemCoTBench's valid rate).
    """
    value, why = extract_answer(output, keys)
    text = _as_text(value)
    if value is None or text is None:
        return wrong(why or f"answer {value!r} is not a SMILES string", value, valid=False)
    if parse_smiles(text) is None:
        return wrong(f"invalid SMILES {text[:80]!r}", text, valid=False)
    ok, reason = edit_check(source, text, added, removed, groups)
    return right(text, valid=True) if ok else wrong(reason, text, valid=True)


# ------------------------------------------------------------------------------------ properties
def esol_log_s(mol: Chem.Mol) -> float:
    """ESOL estimate of aqueous solubility, log10(mol/L) (Delaney 2004, J. Chem. Inf. Comput. Sci. 44:1000).

    ``0.16 - 0.63 clogP - 0.0062 MW + 0.066 RB - 0.74 AP`` with RDKit's Crippen logP, average molecular
    weight (g/mol), rotatable bonds and the aromatic share of heavy atoms.
    """
    heavy = mol.GetNumHeavyAtoms()
    aromatic = sum(1 for a in mol.GetAtoms() if a.GetIsAromatic())
    ap = aromatic / heavy if heavy else 0.0
    return (0.16 - 0.63 * Crippen.MolLogP(mol) - 0.0062 * Descriptors.MolWt(mol)
            + 0.066 * rdMolDescriptors.CalcNumRotatableBonds(mol) - 0.74 * ap)


#: ESOL refit used by the paper's evaluator (intercept, logP, MW, rotatable bonds, aromatic proportion):
#: P. Walters' 2018 refit of Delaney's model on the Delaney data set ("ESOL revisited"), the coefficients
#: of Jensen246/opencompass ``opencompass/datasets/chemcotbench/chemcotbench_mol_opt.py`` (ESOLCalculator).
ESOL_REFIT = (0.26121066137801696, -0.7416739523408995, -0.0066138847738667125, 0.003451545565957996,
              -0.42624840441316975)


def esol_log_s_refit(mol: Chem.Mol) -> float:
    """ESOL with :data:`ESOL_REFIT` (rule ``chemcot.fg_definitions_esol``), log10(mol/L)."""
    heavy = mol.GetNumAtoms()
    ap = len(mol.GetSubstructMatches(_pattern("a"))) / heavy if heavy else 0.0
    b0, b_logp, b_mw, b_rb, b_ap = ESOL_REFIT
    return (b0 + b_logp * Crippen.MolLogP(mol) + b_mw * Descriptors.MolWt(mol)
            + b_rb * rdMolDescriptors.CalcNumRotatableBonds(mol) + b_ap * ap)


#: RDKit-computable properties of molecule optimisation (higher = better for each).
PROPERTIES: dict[str, Callable[[Chem.Mol], float]] = {
    "logp": Crippen.MolLogP,
    "qed": QED.qed,
    "solubility": esol_log_s,
}
#: The paper profile's properties: solubility by the ESOL refit.
PAPER_PROPERTIES: dict[str, Callable[[Chem.Mol], float]] = {**PROPERTIES, "solubility": esol_log_s_refit}


def score_improvement(output: str, source: str, prop: str,
                      keys: Sequence[str] = ("Final Target Molecule", "output", "answer"),
                      properties: dict[str, Callable[[Chem.Mol], float]] | None = None) -> ItemScore:
    """Molecule optimisation: 1 when the output is valid and ``prop`` is strictly higher than the source's.

    ``details`` holds ``valid``, ``source_value``, ``output_value`` and ``improvement`` (output - source).
    ``properties`` replaces :data:`PROPERTIES` (the paper profile's :data:`PAPER_PROPERTIES`).
    """
    fn = (properties or PROPERTIES).get(prop)
    if fn is None:
        return wrong(f"property {prop!r} cannot be computed here", valid=None)
    src = parse_smiles(source)
    if src is None:
        return wrong(f"source molecule {source!r} is not valid (data issue)", valid=None)
    value, why = extract_answer(output, keys)
    text = _as_text(value)
    if value is None or text is None:
        return wrong(why or f"answer {value!r} is not a SMILES string", value, valid=False)
    mol = parse_smiles(text)
    if mol is None:
        return wrong(f"invalid SMILES {text[:80]!r}", text, valid=False)
    a, b = fn(src), fn(mol)
    details = {"valid": True, "source_value": round(a, 4), "output_value": round(b, 4),
               "improvement": round(b - a, 4)}
    if b > a + 1e-9:
        return right(text, **details)
    return wrong(f"{prop} {b:.3f} does not improve on {a:.3f}", text, **details)


def valid_rate(scores: Sequence[ItemScore]) -> float | None:
    """Share of scores whose output parsed as a molecule (``details["valid"]``); None when not tracked."""
    flags = [s.details.get("valid") for s in scores if s.details.get("valid") is not None]
    return sum(flags) / len(flags) if flags else None


# ------------------------------------------------------------------ the paper's evaluator (``paper`` profile)
def score_smiles_inchi(output: str, gold: str, keys: Sequence[str]) -> ItemScore:
    """Reaction exact match as the paper's evaluator computes it: the extracted answer and the gold, each
    read as *one* SMILES string, have the same InChI (a gold stored as molecules joined without ``.``
    usually fails to parse, so the item cannot be matched: rule ``reaction.retro_gold_unrepaired``).

    Source: ``Jensen246/opencompass`` ``opencompass/datasets/chemcotbench/chemcotbench_reaction.py``
    (``_exact_match_smiles``, ``_score_smiles``).
    """
    value, why = extract_answer(output, keys)
    if value is None:
        return wrong(why, valid=False)
    return inchi_match(_as_text(value), gold)


def inchi_match(text: str | None, gold: str) -> ItemScore:
    """1 when ``text`` and ``gold``, each read as one SMILES string, have the same InChI (the paper's rule)."""
    pred, ref = parse_smiles(text), parse_smiles(gold)
    if pred is None:
        return wrong(f"invalid SMILES {str(text)[:80]!r}", text, valid=False)
    if ref is None:
        return wrong(f"gold {str(gold)[:80]!r} is not one valid SMILES (hub gold, paper profile)", text, valid=True)
    try:
        same = Chem.MolToInchi(pred) == Chem.MolToInchi(ref)
    except Exception:  # noqa: BLE001  (InChI generation fails on a few exotic molecules)
        same = False
    return right(text, valid=True) if same else wrong(f"molecule {text[:80]} != gold (InChI)", text, valid=True)


def score_text_exact(output: str, gold: str, keys: Sequence[str]) -> ItemScore:
    """Lower-cased, stripped text equality of the extracted answer and the gold (the paper's rcr rule)."""
    value, why = extract_answer(output, keys)
    if value is None:
        return wrong(why)
    text = _as_text(value) if not isinstance(value, int | float) else str(value)
    if text is not None and text.lower().strip() == str(gold).lower().strip():
        return right(text)
    return wrong(f"condition {str(text)[:60]!r} != {gold!r}", text)
