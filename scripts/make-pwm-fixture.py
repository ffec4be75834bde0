#!/usr/bin/env python3
"""Biopython reference values for tests/dna_pwm.rs (PWM log-odds, per-position scores on both
strands and occupancy).

    python3 -m venv /tmp/venv-dna && \\
        /tmp/venv-dna/bin/pip install biopython==1.88 pyjaspar==4.0.0 numpy==2.4.6 scipy==1.17.1
    /tmp/venv-dna/bin/python scripts/make-pwm-fixture.py

Reads assets/dna/jaspar2024.tsv (scripts/make-jaspar.py) and data/dna_dhs.tsv.gz
(scripts/make-dna-data.py); the counts are turned into Biopython motifs with
`motifs.Motif(counts=...)`, so the fixture checks the PWM arithmetic, not the export.

Writes tests/fixtures/biopython/pwm.tsv.gz (deterministic gzip, mtime 0), tab-separated, one
record per line, the first field naming the record:

    config   <cfg> <pseudocount> <bg_A> <bg_C> <bg_G> <bg_T>
        a scoring configuration (background as given to log_odds, before normalisation)
    logodds  <cfg> <motif id> <base> <v_1> ... <v_L>
        pssm = motif.counts.normalize(pseudocounts=p).log_odds(background); row for one base
    seq      <seq name> <sequence>
        the test sequences: 4 seeded validation sequences per cell type of data/dna_dhs.tsv.gz
        (random.Random(20251127)) and hand-written edge cases, incl. lower case and sequences
        shorter than the motifs
    fwd      <cfg> <motif id> <seq name> <s_1> ... <s_n>
    rev      <cfg> <motif id> <seq name> <s_1> ... <s_n>
        pssm.calculate(seq) and pssm.reverse_complement().calculate(seq): log2 odds of the window
        starting at each position 0..len-L (float32, as Biopython returns them); no values when
        the sequence is shorter than the motif (Biopython returns an empty array for len = L-1
        and raises for shorter ones; both are written as no values)
    occ      <cfg> <motif set> <seq name> <value>
        natural-log occupancy: scipy.special.logsumexp(ln 2 * scores) over every fwd and rev
        window of the set's motifs, with the scores summed in float64 from the float64 log-odds
        (not the float32 calculate() output); -inf when there is no window

Configurations: `p0.5` (pseudocount 0.5, uniform background) for every matrix, scored on every
sequence; `p0` (no pseudocount, uniform background; matrices with zero counts give -inf) and
`p0.5gc` (pseudocount 0.5, background A=T=0.3, C=G=0.2) for five matrices, scored on the first
data sequence of each cell type (`<cell>_val0`) and the hand-written ones. Motif sets: each
matrix alone, `HepG2`, `K562`, `SK-N-SH` (GATA2, PHOX2B, HAND2, ASCL1, ISL1) and `all`, where
all their matrices are in the configuration. Floats are written with repr() (fwd/rev: the
shortest string of the float32), infinities as inf / -inf.
"""

import gzip
import math
import random
from pathlib import Path

import Bio
import numpy as np
import scipy
from Bio import motifs
from scipy.special import logsumexp

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "biopython" / "pwm.tsv.gz"


def load_jaspar(path):
    out, cur = [], None
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        f = line.split("\t")
        if f[0].startswith(">"):
            cur = {"id": f[0][1:], "name": f[1], "groups": f[2].split(","), "counts": {}}
            out.append(cur)
        else:
            cur["counts"][f[0]] = [float(x) for x in f[1:]]
    return out


def pssm_of(m, pseudo, bg):
    motif = motifs.Motif(alphabet="ACGT", counts=m["counts"])
    return motif.counts.normalize(pseudocounts=pseudo).log_odds(bg)


def scores(pssm, seq):
    """calculate() as a list; [] where Biopython gives an empty array or raises (too short)."""
    if len(seq) < pssm.length:
        if len(seq) == pssm.length - 1:
            assert len(pssm.calculate(seq)) == 0
        return []
    s = pssm.calculate(seq)
    return [float(s)] if np.ndim(s) == 0 else [float(x) for x in s]


def scores64(pssm, seq):
    """Float64 window sums in Biopython's order (the C loop adds positions left to right)."""
    m = pssm.length
    out = []
    for i in range(len(seq) - m + 1):
        total = 0.0
        for j in range(m):
            total += pssm[seq[i + j].upper()][j]
        out.append(total)
    return out


def fmt(x):
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(float(x))


def fmt32(x):
    """Shortest string that round-trips the float32 (what calculate() returns)."""
    return str(np.float32(x))


def main():
    mats = load_jaspar(ROOT / "assets" / "dna" / "jaspar2024.tsv")
    byid = {m["id"]: m for m in mats}
    uniform = {b: 1.0 for b in "ACGT"}
    gc = {"A": 0.3, "C": 0.2, "G": 0.2, "T": 0.3}
    subset = ["MA0140.3", "MA0841.2", "MA1100.3", "MA0139.2", "MA0114.5"]
    configs = [
        ("p0.5", 0.5, uniform, [m["id"] for m in mats]),
        ("p0", 0.0, uniform, subset),
        ("p0.5gc", 0.5, gc, subset),
    ]

    rows = [r.split("\t") for r in gzip.open(ROOT / "data" / "dna_dhs.tsv.gz", "rt").read().splitlines()]
    header, rows = rows[0], rows[1:]
    col = {k: i for i, k in enumerate(header)}
    rng = random.Random(20251127)
    seqs = []
    for cell in ("HepG2", "K562", "GM12878", "hESC"):
        val = [r for r in rows if r[col["split"]] == "val" and r[col["cell_type"]] == cell]
        for k, r in enumerate(rng.sample(val, 4)):
            seqs.append((f"{cell}_val{k}", r[col["sequence"]]))
    seqs += [
        ("allA200", "A" * 200),
        ("allC30", "C" * 30),
        ("lower_mixed", seqs[0][1][:60].lower() + seqs[5][1][60:120]),
        ("gata_site", "TTAGATAAGGCTTATCTCCGCGGATAAGATAA"),
        ("ctcf_site", "AAACCGCGCCCCCTGGTGGCCACAAAA"),
        ("len6", "GATAAG"),
        ("len7", "AGATAAG"),
        ("len8", "CAGATAAG"),
        ("len20", "ACGTACGTACGTACGTACGT"),
        ("empty", ""),
    ]

    sets = {m["id"]: [m["id"]] for m in mats}
    for g in ("HepG2", "K562", "SK-N-SH"):
        sets[g] = [m["id"] for m in mats if g in m["groups"]]
    sets["all"] = [m["id"] for m in mats]
    assert sets["SK-N-SH"] == ["MA0036.4", "MA0681.3", "MA1638.2", "MA1100.3", "MA1608.2"]

    out = []
    for cfg, pseudo, bg, ids in configs:
        out.append(["config", cfg, fmt(pseudo)] + [fmt(bg[b]) for b in "ACGT"])
    for name, s in seqs:
        out.append(["seq", name, s])
    for cfg, pseudo, bg, ids in configs:
        pssms = {i: pssm_of(byid[i], pseudo, bg) for i in ids}
        for i in ids:
            for b in "ACGT":
                out.append(["logodds", cfg, i, b] + [fmt(v) for v in pssms[i][b]])
        for name, s in seqs:
            if cfg != "p0.5" and name[-5:-1] == "_val" and name[-1] != "0":
                continue  # the other configurations use one data sequence per cell type
            all64 = {}
            for i in ids:
                p, rc = pssms[i], pssms[i].reverse_complement()
                fwd, rev = scores(p, s), scores(rc, s)
                out.append(["fwd", cfg, i, name] + [fmt32(v) for v in fwd])
                out.append(["rev", cfg, i, name] + [fmt32(v) for v in rev])
                f64, r64 = scores64(p, s), scores64(rc, s)
                assert np.allclose(np.float32(f64), fwd) and np.allclose(np.float32(r64), rev)
                all64[i] = f64 + r64
            for set_name, members in sets.items():
                if not all(i in pssms for i in members):
                    continue
                v = [x for i in members for x in all64[i]]
                occ = float(logsumexp(np.array(v) * math.log(2))) if v else -math.inf
                out.append(["occ", cfg, set_name, name, fmt(occ)])

    OUT.parent.mkdir(parents=True, exist_ok=True)
    head = (
        f"# Biopython {Bio.__version__}, numpy {np.__version__}, scipy {scipy.__version__}; "
        "written by scripts/make-pwm-fixture.py (format in its docstring)\n"
    )
    text = head + "".join("\t".join(r) + "\n" for r in out)
    with gzip.GzipFile(OUT, "wb", mtime=0, compresslevel=9) as g:
        g.write(text.encode())
    print(f"{OUT.relative_to(ROOT)}: {len(out)} records, {len(seqs)} sequences, {len(configs)} configs")


if __name__ == "__main__":
    main()
