#!/usr/bin/env python3
"""Writes assets/dna/jaspar2024.tsv: the JASPAR 2024 CORE count matrices used by the DNA domain
(cell-type transcription-factor motifs), read offline from the sqlite database bundled in
pyjaspar. JASPAR data: CC BY 4.0 (Rauluseviciute et al., Nucleic Acids Res. 2024).

    python3 -m venv /tmp/venv-dna && /tmp/venv-dna/bin/pip install biopython==1.88 pyjaspar==4.0.0
    /tmp/venv-dna/bin/python scripts/make-jaspar.py

(pyjaspar 4.0.0's pyjaspar/data/JASPAR2024.sqlite had sha256
6be3e14ab4e81fa907a7ed4ff11a5caf855e1175e3523ace5bd8182a930209a8 when the committed file was made.)

Format of the output (UTF-8 text, `\\n` line ends; documented in assets/dna/README.md):

    # comment lines start with '#'; blank lines are ignored
    >MA0046.3<TAB>HNF1A<TAB>HepG2
    A<TAB>c_1<TAB>c_2 ... c_L
    C<TAB>...
    G<TAB>...
    T<TAB>...

One block per matrix: a header line `>` id, name (as in JASPAR), and the comma-separated groups
(cell types) the matrix serves; then four rows, A C G T in that order, each with the L counts
(non-negative numbers; JASPAR's counts are integers and are written without a decimal point).
Blocks are in the order of MOTIFS below.
"""

from pathlib import Path

import pyjaspar
from pyjaspar import jaspardb

OUT = Path(__file__).resolve().parent.parent / "assets" / "dna" / "jaspar2024.tsv"

# (id, expected name, groups). ISL1's JASPAR 2024 matrix is the mouse Isl1 profile (MA1608.2).
MOTIFS = [
    ("MA0046.3", "HNF1A", "HepG2"),
    ("MA0114.5", "HNF4A", "HepG2"),
    ("MA0047.4", "FOXA2", "HepG2"),
    ("MA0102.5", "CEBPA", "HepG2"),
    ("MA0679.3", "ONECUT1", "HepG2"),
    ("MA0035.5", "GATA1", "K562"),
    ("MA0140.3", "GATA1::TAL1", "K562"),
    ("MA0493.3", "KLF1", "K562"),
    ("MA0841.2", "NFE2", "K562"),
    ("MA0036.4", "GATA2", "K562,SK-N-SH"),
    ("MA0681.3", "PHOX2B", "SK-N-SH"),
    ("MA1638.2", "HAND2", "SK-N-SH"),
    ("MA1100.3", "ASCL1", "SK-N-SH"),
    ("MA1608.2", "Isl1", "SK-N-SH"),
    # Evaluation oracle of the SK-N-SH objective: independent profiles of the same binding
    # specificities (paralogs / other experiments), never used for training.
    ("MA0713.1", "PHOX2A", "SK-N-SH-eval"),
    ("MA0092.2", "Hand1::Tcf3", "SK-N-SH-eval"),
    ("MA1631.2", "ASCL1", "SK-N-SH-eval"),
    ("MA0914.2", "ISL2", "SK-N-SH-eval"),
    ("MA0037.5", "Gata3", "SK-N-SH-eval"),
    ("MA0138.3", "REST", "control"),
    ("MA0139.2", "CTCF", "control"),
]


def fmt(x):
    x = float(x)
    assert x >= 0 and x == x, x
    return str(int(x)) if x.is_integer() else repr(x)


def main():
    jdb = jaspardb(release="JASPAR2024")
    lines = [
        "# JASPAR 2024 CORE count matrices (https://jaspar.elixir.no), CC BY 4.0.",
        "# Rauluseviciute et al., JASPAR 2024, Nucleic Acids Res. 52(D1):D174-D182 (2024).",
        f"# Exported by scripts/make-jaspar.py from pyjaspar {pyjaspar.__version__} "
        "(JASPAR2024.sqlite). Format: assets/dna/README.md.",
    ]
    for mid, name, groups in MOTIFS:
        m = jdb.fetch_motif_by_id(mid)
        assert m is not None, mid
        assert m.matrix_id == mid and m.name == name, (mid, m.matrix_id, m.name)
        assert m.collection == "CORE" and m.tax_group == "vertebrates", (mid, m.collection)
        lines.append(f">{mid}\t{m.name}\t{groups}")
        for b in "ACGT":
            lines.append(b + "\t" + "\t".join(fmt(c) for c in m.counts[b]))
        print(f"{mid}\t{m.name}\tlength {m.length}\tspecies {','.join(m.species)}\t{groups}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{OUT.relative_to(OUT.parent.parent.parent)}: {len(MOTIFS)} matrices")


if __name__ == "__main__":
    main()
