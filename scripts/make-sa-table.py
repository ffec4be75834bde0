#!/usr/bin/env python3
"""Convert RDKit's SA-score fragment table to the compact file the Rust SA score reads.

    python3 scripts/make-sa-table.py PATH/TO/fpscores.pkl.gz   # writes assets/chem/sa_fragments.tsv.gz

The input is `rdkit/Contrib/SA_Score/fpscores.pkl.gz` from the `rdkit` PyPI wheel (2026.9.1;
identical in molsets 0.3.1 `moses/metrics/SA_Score/fpscores.pkl.gz`): a pickled list of
lists `[score, fragment_id, fragment_id, ...]`. The pickle only holds Python floats, ints and
lists, so plain `pickle` reads it without RDKit.

Output (gzip, deterministic): one line per score, in ascending score order,
`score<TAB>d1 d2 d3 ...`, where the fragment ids of that score are sorted and written as
deltas (d1 = first id, d_k = id_k - id_(k-1)). Scores are written as Python `repr`, so they
parse back to the same doubles `sascorer.readFragmentScores` uses.
"""

import gzip
import pickle
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "assets" / "chem" / "sa_fragments.tsv.gz"


def main() -> None:
    with gzip.open(sys.argv[1], "rb") as f:
        groups = pickle.load(f)
    # sascorer.readFragmentScores builds {id: float(score)}; a later list would win on a
    # repeated id, so resolve repeats the same way before regrouping.
    scores = {i: float(g[0]) for g in groups for i in g[1:]}
    by_score: dict[float, list[int]] = {}
    for fid, s in scores.items():
        by_score.setdefault(s, []).append(fid)
    lines = []
    for s in sorted(by_score):
        ids = sorted(by_score[s])
        deltas = [ids[0]] + [b - a for a, b in zip(ids, ids[1:])]
        lines.append(f"{s!r}\t{' '.join(map(str, deltas))}\n")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(OUT, "wb", compresslevel=9, mtime=0) as g:
        g.write("".join(lines).encode())
    print(f"{OUT}: {len(scores)} fragments, {len(by_score)} scores")


if __name__ == "__main__":
    main()
