"""Mini ChemCoTBench data: small exact items in the real layouts, generated with RDKit.

Molecules come from a fixed list of small ring compounds decorated at a random C-H with functional
groups or alkyl chains; every gold is computed, never guessed: functional-group counts with the
scorer's SMARTS, ring counts as substructure matches (the rule the real ``ring_count`` golds follow),
Murcko scaffolds with ``rdkit.Chem.Scaffolds.MurckoScaffold`` (the real golds match it exactly),
edits checked by the editing scorer, optimisation references checked to improve the property, and
reactions (amide coupling, esterification, via the acid chloride for next-step items) applied with
RDKit reaction SMARTS. Reaction chemistry here is a toy (one reagent per class) but exact.

* :func:`write_bench` writes ``<task_dir>/<subtask>.json`` hub-layout arrays (``{id, query, gt, task,
  subtask, meta}``), ~40-60 items per task.
* :func:`write_cot_source` writes the mini ``chemcot`` source, ChemCoTDataset layout
  (``chemcotbench-cot/<task_dir>/<subtask>.json`` with a short JSON ``struct_cot``).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rdkit import Chem
from rdkit.Chem import AllChem
from rdkit.Chem.Scaffolds import MurckoScaffold

from ftagent.dojo.benchmarks.chemcotbench import PROPERTY_NAMES, QUERIES
from ftagent.eval.scorers import chem
from ftagent.utils.io import atomic_write_text

#: Eval items per subtask (the drd/gsk/jnk ones are written for the layout but not scored).
MINI_ITEMS = {"add": 16, "delete": 16, "sub": 16, "logp": 14, "qed": 14, "solubility": 14,
              "drd": 4, "gsk": 4, "jnk": 4}
MINI_ITEMS_DEFAULT = 10
#: Raw chain-of-thought records per subtask of the mini ``chemcot`` source.
MINI_RAW_PER_SUBTASK = 50

_MOL_UND = ["fg_count", "ring_count", "Murcko_scaffold", "ring_system_scaffold", "equivalence"]
TASK_OF = {**dict.fromkeys(_MOL_UND, "mol_und"),
           **dict.fromkeys(["add", "delete", "sub"], "mol_edit"), **dict.fromkeys(PROPERTY_NAMES, "mol_opt"),
           **dict.fromkeys(["fs", "retro", "rcr", "nepp", "mechsel"], "rxn")}

BASES = ["c1ccccc1", "Cc1ccccc1", "c1ccncc1", "c1ccc2ccccc2c1", "C1CCCCC1", "C1CCNCC1", "C1CCOCC1", "c1ccoc1",
         "c1ccsc1", "c1ccc(-c2ccccc2)cc1", "c1ccc(Cc2ccccc2)cc1", "O=C(Nc1ccccc1)c1ccccc1",
         "c1ccc(N2CCOCC2)cc1", "CC(=O)Nc1ccccc1", "CCOC(=O)c1ccccc1", "c1ccc(C2CCCCC2)cc1", "CCN(CC)c1ccccc1",
         "c1cnc2ccccc2c1", "c1ccc(OCc2ccccc2)cc1", "c1ccc(C2CCNCC2)cc1", "c1ccc2[nH]ccc2c1", "CC(C)Cc1ccccc1",
         "c1ccc(-c2ccncc2)cc1"]
GROUP_FRAGS = {"hydroxyl": "O", "amine": "N", "halo": "Cl", "nitrile": "C#N", "nitro": "[N+](=O)[O-]",
               "carboxyl": "C(=O)O", "aldehyde": "C=O", "thiol": "S"}
CHAINS = ["C", "CC", "CCC"]
RINGS = ["c1ccccc1", "c1ccncc1", "C1CCCCC1", "C1CCNCC1", "C1CCOCC1"]
RING_SYSTEMS = ["c1ccccc1", "c1ccncc1", "c1ccc2ccccc2c1", "c1ccc(-c2ccccc2)cc1", "C1CCCCC1", "c1ccoc1",
                "C1CCNCC1"]

ACIDS = ["OC(=O)c1ccccc1", "CC(=O)O", "OC(=O)c1ccncc1", "OC(=O)Cc1ccccc1", "OC(=O)C1CCCCC1",
         "OC(=O)c1ccc(Cl)cc1", "CCCC(=O)O"]
#: Reaction class -> (partners, reaction SMARTS, the one reagent of the class).
REACTIONS = {
    "amide coupling": (["NCc1ccccc1", "CCN", "C1CCNCC1", "Nc1ccccc1", "NC1CCCCC1", "CNC"],
                       "[C:1](=[O:2])[OX2H1].[NX3;H2,H1;!$(NC=O):3]>>[C:1](=[O:2])[N:3]",
                       "C(=NC1CCCCC1)=NC1CCCCC1"),
    "esterification": (["CCO", "OCc1ccccc1", "CC(C)O", "OC1CCCCC1", "CCCO", "OCCc1ccccc1"],
                       "[C:1](=[O:2])[OX2H1].[OX2H1:4][CX4:3]>>[C:1](=[O:2])[O:4][C:3]",
                       "O=S(=O)(O)O"),
}
DECOY_CLASSES = ["reductive amination", "Suzuki coupling"]

Item = tuple[str, Any, dict[str, Any], dict[str, Any], Any]  # (query, gt, meta, cot steps, answer value)


def _can(smiles: str) -> str:
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


def attach(smiles: str, frag: str, rng: random.Random, site: int | None = None) -> tuple[str, int] | None:
    """``smiles`` with ``frag`` (its first atom bonded) on a carbon carrying H.

    The carbon is the given ``site`` (an atom index of ``smiles``) or a random one. Returns
    (canonical SMILES, site), or None when impossible.
    """
    mol, part = Chem.MolFromSmiles(smiles), Chem.MolFromSmiles(frag)
    sites = [a.GetIdx() for a in mol.GetAtoms() if a.GetSymbol() == "C" and a.GetTotalNumHs() > 0]
    site = rng.choice(sites) if site is None and sites else site
    if site not in sites:
        return None
    combo = Chem.RWMol(Chem.CombineMols(mol, part))
    combo.AddBond(site, mol.GetNumAtoms(), Chem.BondType.SINGLE)
    try:
        Chem.SanitizeMol(combo)
    except Exception:  # RDKit raises several sanitisation errors
        return None
    return Chem.MolToSmiles(combo), site


def decorate(rng: random.Random, k: int, chains: bool = False) -> tuple[str, list[str]]:
    """A base molecule with ``k`` random functional groups (or, with ``chains``, alkyl chains too)."""
    smiles, added = _can(rng.choice(BASES)), []
    for _ in range(k):
        pool = list(GROUP_FRAGS) + (CHAINS if chains else [])
        name = rng.choice(pool)
        got = attach(smiles, GROUP_FRAGS.get(name, name), rng)
        if got:
            smiles = got[0]
            added.append(name)
    return smiles, added


# ------------------------------------------------------------------------------ per subtask
def _fg_count(rng: random.Random) -> Item | None:
    mol, groups = decorate(rng, rng.randint(1, 2))
    name = rng.choice(groups) if groups and rng.random() < 0.7 else rng.choice(list(GROUP_FRAGS))
    n = chem.count_group(chem.parse_smiles(mol), name)
    steps = {"fragment": f"{name} = {chem.FUNCTIONAL_GROUPS[name]}", "matches": f"{n} in {mol}"}
    return (QUERIES["fg_count"].format(mol=mol, fragment=name), n,
            {"fg_smarts": chem.FUNCTIONAL_GROUPS[name]}, steps, n)


def _ring_count(rng: random.Random) -> Item | None:
    mol, _ = decorate(rng, rng.randint(0, 1))
    m = chem.parse_smiles(mol)
    present = [r for r in RINGS if m.HasSubstructMatch(Chem.MolFromSmiles(r))]
    ring = rng.choice(present) if present and rng.random() < 0.7 else rng.choice(RINGS)
    n = len(m.GetSubstructMatches(Chem.MolFromSmiles(ring)))
    return QUERIES["ring_count"].format(mol=mol, ring=ring), n, {}, {"rings": f"{n} x {ring} in {mol}"}, n


def _murcko(rng: random.Random) -> Item | None:
    mol, _ = decorate(rng, rng.randint(1, 2), chains=True)
    scaffold = MurckoScaffold.MurckoScaffoldSmiles(mol)
    if not scaffold:
        return None
    steps = {"side chains": f"strip the side chains of {mol}", "scaffold": scaffold}
    return QUERIES["Murcko_scaffold"].format(mol=mol), scaffold, {}, steps, scaffold


def _ring_system(rng: random.Random) -> Item | None:
    mol, _ = decorate(rng, rng.randint(0, 1))
    ring = rng.choice(RING_SYSTEMS)
    gt = "Yes" if chem.parse_smiles(mol).HasSubstructMatch(Chem.MolFromSmiles(ring)) else "No"
    query = QUERIES["ring_system_scaffold"].format(mol=mol, ring=ring)
    return query, gt, {}, {"match": f"{ring} in {mol}: {gt}"}, gt


def _equivalence(rng: random.Random) -> Item | None:
    mol, _ = decorate(rng, rng.randint(0, 1))
    same = rng.random() < 0.5
    other = mol if same else (attach(mol, "C", rng) or (None,))[0]
    if other is None:
        return None
    b = Chem.MolToRandomSmilesVect(Chem.MolFromSmiles(other), 1, randomSeed=rng.randrange(1 << 30))[0]
    gt = "Yes" if same else "No"
    return (QUERIES["equivalence"].format(a=mol, b=b), gt, {},
            {"canonical": f"{mol} vs {chem.canonical(b)}"}, gt)


def _edit(subtask: str) -> Callable[[random.Random], Item | None]:
    def make(rng: random.Random) -> Item | None:
        base, _ = decorate(rng, rng.randint(0, 1))
        g1, g2 = rng.sample(list(GROUP_FRAGS), 2)
        one = attach(base, GROUP_FRAGS[g1], rng)
        if one is None:
            return None
        if subtask == "add":
            src, ref, added, removed = base, one[0], g1, None
        elif subtask == "delete":
            src, ref, added, removed = one[0], base, None, g1
        else:
            two = attach(base, GROUP_FRAGS[g2], rng, site=one[1])
            if two is None:
                return None
            src, ref, added, removed = one[0], two[0], g2, g1
        if not chem.edit_check(src, ref, added, removed)[0]:
            return None
        meta = {"reference": ref, **({"added_group": added} if added else {}),
                **({"removed_group": removed} if removed else {})}
        query = QUERIES[subtask].format(mol=src, added=added, removed=removed)
        return query, "", meta, {"edit": f"{src} -> {ref}"}, ref
    return make


def _opt(subtask: str) -> Callable[[random.Random], Item | None]:
    frags = {"logp": ["Cl", "C", "CC"], "solubility": ["O", "N", "C(=O)O"],
             "qed": ["C", "O", "N", "Cl", "C(=O)O", "c1ccccc1", "C(N)=O"]}.get(subtask, [])

    def make(rng: random.Random) -> Item | None:
        src, _ = decorate(rng, rng.randint(0, 1))
        query = QUERIES["opt"].format(prop=PROPERTY_NAMES[subtask], mol=src)
        if subtask not in chem.PROPERTIES:
            return query, "", {}, {}, None
        fn, base = chem.PROPERTIES[subtask], chem.PROPERTIES[subtask](chem.parse_smiles(src))
        for frag in rng.sample(frags, len(frags)):
            got = attach(src, frag, rng)
            value = fn(chem.parse_smiles(got[0])) if got else base
            if got and value > base + 1e-6:
                steps = {"change": f"{src} -> {got[0]}, {subtask} {base:.3f} -> {value:.3f}"}
                return query, "", {"reference": got[0]}, steps, got[0]
        return None
    return make


def _reaction(rng: random.Random) -> tuple[str, str, str, str, str]:
    """(class, acid, partner, product, reagent) of a random amide coupling or esterification."""
    cls = rng.choice(sorted(REACTIONS))
    partners, smarts, reagent = REACTIONS[cls]
    acid, partner = rng.choice(ACIDS), rng.choice(partners)
    rxn = AllChem.ReactionFromSmarts(smarts)
    products = set()
    for prods in rxn.RunReactants((Chem.MolFromSmiles(acid), Chem.MolFromSmiles(partner))):
        p = prods[0]
        Chem.SanitizeMol(p)
        products.add(Chem.MolToSmiles(p))
    return cls, acid, partner, sorted(products)[0], reagent


def _fs(rng: random.Random) -> Item | None:
    cls, acid, partner, prod, reagent = _reaction(rng)
    meta = {"rxn_cls": cls, "reactants": [acid, partner], "reagents": [reagent],
            "rxn_smiles": f"{acid}.{partner}>{reagent}>{prod}"}
    gt = json.dumps({"Major Product": prod, "Byproduct(s)": "O"})
    return (QUERIES["fs"].format(reactants=f"{acid}.{partner}", reagents=reagent), gt, meta,
            {"reaction class": cls, "product": prod}, prod)


def _retro(rng: random.Random) -> Item | None:
    cls, acid, partner, prod, reagent = _reaction(rng)
    meta = {"rxn_cls": cls, "reagents": [reagent], "products": [prod], "reactants": [acid, partner]}
    return (QUERIES["retro"].format(products=prod, reagents=reagent), f"{acid}.{partner}", meta,
            {"disconnection": f"{cls}: {prod} <= {acid} + {partner}"}, f"{acid}.{partner}")


def _rcr(rng: random.Random) -> Item | None:
    cls, acid, partner, prod, reagent = _reaction(rng)
    query = (f"Recommend the reagent for this {cls} reaction:\n{acid}.{partner}>>{prod}\n"
             'Answer in JSON: {"SMILES": "<SMILES>"}')
    meta = {"rxn_cls": cls, "query_target": "reagent"}
    return query, reagent, meta, {"reagent": f"{cls} uses {reagent}"}, reagent


def _nepp(rng: random.Random) -> Item | None:
    cls, acid, partner, prod, _ = _reaction(rng)
    chloride = AllChem.ReactionFromSmarts("[C:1](=[O:2])[OX2H1]>>[C:1](=[O:2])Cl").RunReactants(
        (Chem.MolFromSmiles(acid),))[0][0]
    Chem.SanitizeMol(chloride)
    ac = Chem.MolToSmiles(chloride)
    query = (f"Route to the {cls} product via the acid chloride. Step 1 turned {acid} into {ac}. "
             f"Next step: {ac} reacts with {partner}.\n" 'Answer in JSON: {"pred_smi": "<SMILES>"}')
    gold = f"{prod}.Cl"
    return query, gold, {"rxn_cls": cls, "starting_reactants": f"{acid}.{partner}"}, {"step 2": gold}, gold


def _mechsel(rng: random.Random) -> Item | None:
    cls, acid, partner, prod, _ = _reaction(rng)
    options = rng.sample([*REACTIONS, *DECOY_CLASSES], 4)
    letters = "ABCD"
    gt = letters[options.index(cls)]
    query = (f"Which reaction class is {acid}.{partner}>>{prod}?\n"
             + "\n".join(f"{letter}: {o}" for letter, o in zip(letters, options, strict=True))
             + '\nAnswer in JSON: {"choice": "<letter>"}')
    return query, gt, {"rxn_cls": cls}, {"class": cls}, gt


GENERATORS: dict[str, Callable[[random.Random], Item | None]] = {
    "fg_count": _fg_count, "ring_count": _ring_count, "Murcko_scaffold": _murcko,
    "ring_system_scaffold": _ring_system, "equivalence": _equivalence,
    **{s: _edit(s) for s in ("add", "delete", "sub")}, **{s: _opt(s) for s in PROPERTY_NAMES},
    "fs": _fs, "retro": _retro, "rcr": _rcr, "nepp": _nepp, "mechsel": _mechsel,
}


def generate(subtask: str, n: int, rng: random.Random) -> list[Item]:
    """``n`` items of a subtask with distinct queries.

    Raises:
        RuntimeError: the generator could not produce ``n`` distinct items (a bug in the pools).
    """
    items: dict[str, Item] = {}
    for _ in range(n * 100):
        if len(items) == n:
            break
        it = GENERATORS[subtask](rng)
        if it is not None:
            items.setdefault(it[0], it)
    if len(items) < n:
        raise RuntimeError(f"mini chemcotbench: only {len(items)} of {n} distinct {subtask} items")
    return list(items.values())


def _uid(subtask: str, query: str) -> str:
    return hashlib.md5(f"{subtask}\n{query}".encode()).hexdigest()


def write_bench(out_dir: Path, subsets: list[str], rng: random.Random) -> None:
    """Write the hub-layout evaluation files ``out_dir/<subtask>.json`` of one task."""
    for sub in subsets:
        task = "reaction" if TASK_OF[sub] == "rxn" else TASK_OF[sub]  # the hub's task name for rxn files
        rows = [{"id": _uid(sub, q), "query": q, "gt": gt, "task": task, "subtask": sub,
                 "meta": json.dumps(meta)}
                for q, gt, meta, _, _ in generate(sub, MINI_ITEMS.get(sub, MINI_ITEMS_DEFAULT), rng)]
        atomic_write_text(Path(out_dir) / f"{sub}.json", json.dumps(rows, indent=1) + "\n")


def write_cot_source(root: Path, rng: random.Random) -> None:
    """Write the mini ChemCoTDataset: ``root/<task_dir>/<subtask>.json`` with short ``struct_cot``.

    The answer sits where the real dataset keeps it: ``meta.gt`` (understanding, reactions),
    ``meta.reference`` (editing) or only the ``output`` of ``struct_cot`` (optimisation).
    """
    for sub, task in TASK_OF.items():
        if sub in ("drd", "gsk", "jnk"):  # no computable target, as the benchmark has no gold for them
            continue
        rows = []
        for q, _, meta, steps, value in generate(sub, MINI_RAW_PER_SUBTASK, rng):
            if task == "mol_edit":
                raw_meta = {k: v for k, v in meta.items() if k == "reference" or k.endswith("_group")}
            else:
                raw_meta = {} if task == "mol_opt" else {"gt": value}
            rows.append({"id": _uid(sub, q), "query": q, "task": task, "subtask": sub,
                         "struct_cot": json.dumps({**steps, "output": value}),
                         "raw_cot": "Reasoning: " + "; ".join(str(v) for v in steps.values()),
                         "meta": json.dumps(raw_meta)})
        atomic_write_text(Path(root) / task / f"{sub}.json", json.dumps(rows, indent=1) + "\n")
