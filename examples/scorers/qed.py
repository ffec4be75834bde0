#!/usr/bin/env python3
"""QED of each completion, read as SMILES with RDKit: an external scorer for
multireward's `ExternalReward` (protocol: src/reward/external.rs, docs/architecture.md).

Reads one JSON line per batch on stdin,
    {"batch": k, "samples": [{"prompt": "...", "completion": "CCO"}, ...]}
and answers one JSON line per batch on stdout,
    {"batch": k, "scores": [0.4068, null, ...]}
with null for a completion that is not a valid molecule. Logs go to stderr. It ends when
stdin closes.

    ExternalReward::new("qed", ["python3", "examples/scorers/qed.py"])

Needs RDKit (`pip install rdkit`, or Debian's `python3-rdkit` for /usr/bin/python3).
"""

import json
import sys

from rdkit import Chem, RDLogger
from rdkit.Chem import QED

# RDKit's parse warnings for invalid SMILES would flood stderr; the score says it (null).
RDLogger.DisableLog("rdApp.*")


def qed(smiles):
    """QED of a SMILES, or None when it does not parse or sanitise (or is empty)."""
    if not smiles.strip():
        return None
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None
    try:
        return QED.qed(mol)
    except Exception as e:  # a molecule QED cannot handle scores null, the run goes on
        print(f"qed failed for {smiles!r}: {e}", file=sys.stderr)
        return None


def main():
    for line in sys.stdin:
        request = json.loads(line)
        scores = [qed(s["completion"]) for s in request["samples"]]
        answer = {"batch": request["batch"], "scores": scores}
        sys.stdout.write(json.dumps(answer, allow_nan=False) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
