"""Golden tests of the chemistry scorers: expected values worked out by hand (see each case)."""

from __future__ import annotations

import pytest

from ftagent.eval.scorers import chem


# ------------------------------------------------------------------------------------ extraction
@pytest.mark.parametrize(("output", "keys", "value"), [
    ('{"output": "CCO"}', ("output",), "CCO"),
    # prose around the JSON
    ('Sure! Here it is:\n```json\n{"output": "CCO"}\n```\nHope this helps.', ("output",), "CCO"),
    ('Format: {"output": "Yes / No"}. My answer: {"output": "No"}', ("output",), "No"),  # last object wins
    ('{"reasoning": "two OH", "count": 2, "confidence": 0.9}', ("count",), 2),  # extra keys
    ('{"Final Target Molecule": "CCO",}', ("Final Target Molecule",), "CCO"),  # trailing comma
    ("{'output': 'CCO'}", ("output",), "CCO"),  # Python dict
    ('{"output": "CCO"', ("output",), "CCO"),  # truncated
    ('<think>{"output": "C"}</think>{"output": "CCO"}', ("output",), "CCO"),  # think dropped
    ('{"answer": "CCO"}', ("output", "answer"), "CCO"),  # fallback key
])
def test_extract_answer_finds_value(output, keys, value):
    assert chem.extract_answer(output, keys) == (value, "")


@pytest.mark.parametrize(("output", "reason"), [
    ("", "empty output"),
    ("   \n", "empty output"),
    ("The product is CCO.", "no JSON object in output"),
    ('{"smiles": "CCO"}', "JSON has none of the keys ['output']"),
    ("{{{{ not json", "no JSON object in output"),
])
def test_extract_answer_reports_why(output, reason):
    assert chem.extract_answer(output, ("output",)) == (None, reason)


# ---------------------------------------------------------------------------------------- SMILES
@pytest.mark.parametrize(("smiles", "valid"), [
    ("CCO", True),
    ("C1CC", False),               # ring 1 never closed
    ("C(C)(C)(C)(C)C", False),     # pentavalent carbon
    ("c1cccc1", False),            # five aromatic carbons cannot be kekulised
    ("", False),                   # RDKit gives an empty molecule; we call it invalid
    ("CC O", False),               # whitespace inside
    ("C" * (chem.MAX_SMILES_CHARS + 1), False),
    (None, False),
])
def test_parse_smiles_validity(smiles, valid):
    assert (chem.parse_smiles(smiles) is not None) is valid


def test_fragments_ignore_order_and_spelling():
    # ethanol written three ways, plus cyclobutanone; the set is order free
    assert chem.fragments("OCC.O=C1CCC1") == chem.fragments("C1CCC1=O.CCO") == frozenset({"CCO", "O=C1CCC1"})


@pytest.mark.parametrize(("joined", "repaired"), [
    ("CCO", "CCO"),                              # already valid: unchanged
    ("C#NO=C1CCC1", "C#N.O=C1CCC1"),             # N cannot take C#N and O: only C#N | O=C1CCC1 works
    ("CCOO=C1CCC1", "CCO.O=C1CCC1"),             # O=C1.. needs the O to start a molecule
    ("CCOClC", None),                            # CCO|ClC and CCOCl|C both valid: ambiguous
    ("C(C", None),                               # no split makes valid molecules
])
def test_repair_joined_smiles(joined, repaired):
    assert chem.repair_joined_smiles(joined) == repaired


# ------------------------------------------------------------------------------------------ counts
@pytest.mark.parametrize(("output", "score", "reason"), [
    ('{"count": 2}', 1.0, ""),
    ('{"count": "2"}', 1.0, ""),
    ('{"count": 2.0}', 1.0, ""),
    ('{"count": 3}', 0.0, "count 3 != 2"),
    ('{"count": "two"}', 0.0, "count 'two' is not an integer"),
    ('{"count": 2.5}', 0.0, "count 2.5 is not an integer"),
    ('{"count": true}', 0.0, "count True is not an integer"),
    ("", 0.0, "empty output"),
    ("There are 2 rings.", 0.0, "no JSON object in output"),
])
def test_score_count(output, score, reason):
    s = chem.score_count(output, 2)
    assert (s.score, s.reason) == (score, reason)


# ---------------------------------------------------------------------------------------- Yes / No
@pytest.mark.parametrize(("output", "gold", "score"), [
    ('{"output": "Yes"}', "Yes", 1.0),
    ('{"output": "yes."}', "Yes", 1.0),
    ('{"output": "No"}', "Yes", 0.0),
    ('{"output": "Yes / No"}', "Yes", 0.0),      # the template copied: neither answer
    ('{"output": "Maybe"}', "No", 0.0),
    ("Yes", "Yes", 0.0),                         # no JSON
    ('Format {"output": "Yes"} ... final {"output": "No"}', "No", 1.0),
])
def test_score_yes_no(output, gold, score):
    assert chem.score_yes_no(output, gold).score == score


# ------------------------------------------------------------------------------------ option letter
@pytest.mark.parametrize(("output", "score"), [
    ('{"choice": "G"}', 1.0),
    ('{"choice": "g"}', 1.0),
    ('{"choice": "(G)"}', 1.0),
    ('{"choice": "G: Carboxylic acid deprotonation | ..."}', 1.0),
    ('{"choice": "A"}', 0.0),
    ('{"choice": "AG"}', 0.0),                   # two letters: not an option
    ('{"choice": ""}', 0.0),
    ("G", 0.0),
])
def test_score_choice_letter(output, score):
    assert chem.score_choice_letter(output, "G").score == score


# ------------------------------------------------------------------------------ SMILES exact match
KEYS = ("Output Scaffold", "output")


@pytest.mark.parametrize(("output", "gold", "score", "valid"), [
    ('{"Output Scaffold": "c1ccccc1"}', "C1=CC=CC=C1", 1.0, True),          # Kekulé gold, aromatic answer
    ('{"output": "OCC"}', "CCO", 1.0, True),                                # non-canonical spelling
    ('{"Output Scaffold": "C1CC"}', "C1CCC1", 0.0, False),                  # RDKit rejects
    ('{"Output Scaffold": "C1CCCC1"}', "C1CCC1", 0.0, True),                # valid but another molecule
    ('{"Output Scaffold": ""}', "C1CCC1", 0.0, False),
    ('{"output": "O=C1CCC1.OCC"}', "CCO.O=C1CCC1", 1.0, True),              # molecule set, any order
    ('{"output": ["CCO", "O=C1CCC1"]}', "CCO.O=C1CCC1", 1.0, True),         # list of molecules
    ('{"output": "CCO"}', "CCO.O=C1CCC1", 0.0, True),                       # one molecule missing
    ('{"output": "C[C@@H](N)O"}', "C[C@H](N)O", 0.0, True),                 # the other enantiomer
    ('{"output": 42}', "CCO", 0.0, False),
])
def test_score_smiles_match(output, gold, score, valid):
    s = chem.score_smiles_match(output, gold, KEYS)
    assert (s.score, s.details["valid"]) == (score, valid)


def test_score_smiles_match_flags_bad_gold():
    s = chem.score_smiles_match('{"output": "CCO"}', "C1CC", KEYS)
    assert s.score == 0.0 and "data issue" in s.reason


# ---------------------------------------------------------------------------- functional groups
@pytest.mark.parametrize(("smiles", "group", "n"), [
    ("Oc1ccccc1", "hydroxyl", 1),        # phenol
    ("OC(=O)c1ccccc1", "hydroxyl", 0),   # an acid OH is not a hydroxyl group ...
    ("OC(=O)c1ccccc1", "carboxyl", 1),   # ... it is part of the carboxyl
    ("O=Cc1ccccc1", "aldehyde", 1),
    ("CC(=O)C", "aldehyde", 0),          # ketone
    ("NCCN", "amine", 2),
    ("CC(N)=O", "amine", 0),             # amide N
    ("CC(N)=O", "amide", 1),
    ("ClC(Cl)Br", "halo", 3),
    ("O=[N+]([O-])c1ccccc1", "nitro", 1),
    ("N#Cc1ccccc1", "nitrile", 1),
    ("SCC", "thiol", 1),
    ("c1ccc(-c2ccccc2)cc1", "benzene_ring", 2),
    ("c1ccccc1", "Benzene", 1),          # alias, case
    ("c1ccccc1", "sulfonyl", None),      # unknown
])
def test_count_group(smiles, group, n):
    assert chem.count_group(chem.parse_smiles(smiles), group) == n


@pytest.mark.parametrize(("output", "source", "added", "removed", "score", "reason"), [
    ('{"output": "Oc1ccccc1"}', "c1ccccc1", "hydroxyl", None, 1.0, ""),
    ('{"output": "c1ccc(O)cc1"}', "c1ccccc1", "hydroxyl", None, 1.0, ""),                 # non-canonical
    ('{"output": "Oc1ccc(O)cc1"}', "c1ccccc1", "hydroxyl", None, 0.0, "hydroxyl count 0 -> 2, expected 1"),
    ('{"output": "OC(=O)c1ccccc1"}', "c1ccccc1", "hydroxyl", None, 0.0, "hydroxyl count 0 -> 0, expected 1"),
    ('{"output": "Oc1cccc1"}', "c1ccccc1", "hydroxyl", None, 0.0, "invalid SMILES 'Oc1cccc1'"),
    ('{"output": "Oc1ccccc1"}', "c1ccccc1", "sulfonyl", None, 0.0, "unknown functional group 'sulfonyl'"),
    ('{"output": "c1ccccc1"}', "O=Cc1ccccc1", None, "aldehyde", 1.0, ""),                 # delete
    ('{"output": "O=C(O)c1ccccc1"}', "O=Cc1ccccc1", "carboxyl", "aldehyde", 1.0, ""),     # substitute
    ('{"output": "O=Cc1ccc(C(=O)O)cc1"}', "O=Cc1ccccc1", "carboxyl", "aldehyde", 0.0,
     "aldehyde count 1 -> 1, expected 0"),                                                 # added, kept old
    ("", "c1ccccc1", "hydroxyl", None, 0.0, "empty output"),
])
def test_score_edit(output, source, added, removed, score, reason):
    s = chem.score_edit(output, source, added, removed)
    assert (s.score, s.reason) == (score, reason)


def test_score_edit_valid_flag():
    assert chem.score_edit('{"output": "Oc1ccccc1"}', "c1ccccc1", None, "hydroxyl").details["valid"] is True
    assert chem.score_edit('{"output": "C1CC"}', "c1ccccc1", "halo", None).details["valid"] is False


# ---------------------------------------------------------------------------------- properties
def test_crippen_and_esol_of_benzene_by_hand():
    # Crippen: 6 aromatic CH carbons (type C18, 0.1581) + 6 aromatic H (type H1, 0.1230) = 1.6866.
    # ESOL: 0.16 - 0.63 * 1.6866 - 0.0062 * 78.114 + 0.066 * 0 - 0.74 * 6/6 = -2.1268648
    benzene = chem.parse_smiles("c1ccccc1")
    assert chem.PROPERTIES["logp"](benzene) == pytest.approx(1.6866, abs=1e-4)
    assert chem.esol_log_s(benzene) == pytest.approx(-2.1268648, abs=1e-4)


@pytest.mark.parametrize(("output", "source", "prop", "score"), [
    ('{"Final Target Molecule": "Clc1ccccc1"}', "c1ccccc1", "logp", 1.0),   # chlorine raises logP
    ('{"Final Target Molecule": "Oc1ccccc1"}', "c1ccccc1", "logp", 0.0),    # OH lowers it
    ('{"Final Target Molecule": "Oc1ccccc1"}', "c1ccccc1", "solubility", 1.0),  # ... and raises log S
    ('{"Final Target Molecule": "c1ccccc1"}', "c1ccccc1", "qed", 0.0),      # unchanged: no improvement
    ('{"Final Target Molecule": "C1CC"}', "c1ccccc1", "logp", 0.0),         # invalid
    ('{"output": "Clc1ccccc1"}', "c1ccccc1", "logp", 1.0),                  # fallback key
    ("", "c1ccccc1", "logp", 0.0),
    ('{"Final Target Molecule": "Clc1ccccc1"}', "c1ccccc1", "drd", 0.0),    # no oracle here
])
def test_score_improvement(output, source, prop, score):
    assert chem.score_improvement(output, source, prop).score == score


def test_score_improvement_details():
    s = chem.score_improvement('{"Final Target Molecule": "Clc1ccccc1"}', "c1ccccc1", "logp")
    # chlorobenzene 2.34 (RDKit Crippen) vs benzene 1.6866 (above)
    assert s.details["source_value"] == pytest.approx(1.6866)
    assert s.details["improvement"] == pytest.approx(0.6534)


def test_valid_rate():
    scores = [chem.score_edit('{"output": "CCO"}', "CC", "hydroxyl", None),
              chem.score_edit('{"output": "C1CC"}', "CC", "hydroxyl", None),
              chem.score_edit("nothing", "CC", "hydroxyl", None)]
    assert chem.valid_rate(scores) == pytest.approx(1 / 3)
