#!/usr/bin/env python3
"""RDKit reference values for tests/chemistry.rs.

    python3 -m venv /tmp/venv-rdkit && /tmp/venv-rdkit/bin/pip install rdkit==2026.9.1
    /tmp/venv-rdkit/bin/python scripts/make-rdkit-fixtures.py

Writes (deterministic; seeded):
- tests/fixtures/rdkit/descriptors.tsv: `source smiles canonical qed logp tpsa mw heavy_atoms
  sa morgan_nnz morgan_sum` for a seeded sample of data/moses_sample.smi.gz, a seeded sample of
  data/qm9_slim.csv.gz and the hand-written molecules below. qed = QED.qed, logp =
  Crippen.MolLogP, tpsa = rdMolDescriptors.CalcTPSA, mw = Descriptors.MolWt, heavy_atoms =
  GetNumHeavyAtoms, sa = Contrib/SA_Score sascorer.calculateScore, canonical = MolToSmiles;
  morgan_nnz / morgan_sum = number of distinct ids and sum(id * count) mod 2^32 of the radius-2
  Morgan sparse count fingerprint (GetMorganGenerator(radius=2).GetSparseCountFingerprint).
  A second header line gives the internal diversity (1 - mean Tanimoto over all pairs of
  distinct canonical molecules, radius-2 1024-bit Morgan bit vectors) of the file's molecules.
- tests/fixtures/rdkit/validity.tsv: `source smiles valid` for hand-written invalid and tricky
  valid strings and seeded single-character mutations of MOSES SMILES. valid = 1 when
  Chem.MolFromSmiles(s) is not None and has at least one atom (an empty molecule is invalid).
"""

import gzip
import os
import random
import sys
from pathlib import Path

import rdkit
from rdkit import Chem, DataStructs, RDConfig, RDLogger
from rdkit.Chem import QED, Crippen, Descriptors, rdFingerprintGenerator, rdMolDescriptors

sys.path.append(os.path.join(RDConfig.RDContribDir, "SA_Score"))
import sascorer  # noqa: E402

RDLogger.DisableLog("rdApp.*")
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "rdkit"
SEED = 20260101
N_MOSES, N_QM9, N_MUTATED = 700, 200, 1500

DRUGS = """
CC(=O)Oc1ccccc1C(=O)O aspirin
Cn1cnc2c1c(=O)n(C)c(=O)n2C caffeine
CC(C)Cc1ccc(cc1)C(C)C(=O)O ibuprofen
CC(=O)Nc1ccc(O)cc1 paracetamol
COc1ccc2cc(ccc2c1)[C@H](C)C(=O)O naproxen
OC(=O)Cc1ccccc1Nc1c(Cl)cccc1Cl diclofenac
CN(C)C(=N)N=C(N)N metformin
CC1([C@@H](N2[C@H](S1)[C@@H](C2=O)NC(=O)Cc1ccccc1)C(=O)O)C penicillin_g
CC(C)c1c(C(=O)Nc2ccccc2)c(-c2ccccc2)c(-c2ccc(F)cc2)n1CC[C@@H](O)C[C@@H](O)CC(=O)O atorvastatin
Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1 imatinib
CCCc1nn(C)c2c(=O)[nH]c(-c3cc(S(=O)(=O)N4CCN(C)CC4)ccc3OCC)nc12 sildenafil
CN1CC[C@]23c4c5ccc(O)c4O[C@H]2[C@@H](O)C=C[C@H]3[C@H]1C5 morphine
COC(=O)[C@H]1[C@@H](OC(=O)c2ccccc2)C[C@@H]2CC[C@H]1N2C cocaine
CN1CCC[C@H]1c1cccnc1 nicotine
CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21 diazepam
CNCCC(Oc1ccc(cc1)C(F)(F)F)c1ccccc1 fluoxetine
COc1ccc2[nH]c(S(=O)Cc3ncc(C)c(OC)c3C)nc2c1 omeprazole
OC(=O)c1cn(C2CC2)c2cc(N3CCNCC3)c(F)cc2c1=O ciprofloxacin
C[C@]12CC[C@H]3[C@@H](CCC4=CC(=O)CC[C@@]43C)[C@@H]1CC[C@@H]2O testosterone
CC(C)CCC[C@@H](C)[C@H]1CC[C@H]2[C@@H]3CC=C4C[C@@H](O)CC[C@]4(C)[C@H]3CC[C@@]21C cholesterol
NCCCC[C@H](N[C@@H](CCc1ccccc1)C(=O)O)C(=O)N1CCC[C@H]1C(=O)O lisinopril
C[C@H](CS)C(=O)N1CCC[C@H]1C(=O)O captopril
CC(=O)CC(c1ccccc1)c1c(O)c2ccccc2oc1=O warfarin
CC/C(=C(\\c1ccccc1)c1ccc(OCCN(C)C)cc1)c1ccccc1 tamoxifen
COc1ccc2nccc([C@@H](O)[C@@H]3C[C@@H]4CCN3C[C@@H]4C=C)c2c1 quinine
O=C1C[C@H]2OCC=C3CN4CC[C@]56[C@@H]4C[C@H]3[C@H]2[C@H]6N1c1ccccc15 strychnine
CC[C@@H]1[C@@]([C@@H]([C@H](C(=O)[C@@H](C[C@@]([C@@H]([C@H]([C@@H]([C@H](C(=O)O1)C)O[C@H]2C[C@@]([C@H]([C@@H](O2)C)O)(C)OC)C)O[C@H]3[C@@H]([C@H](C[C@H](O3)C)N(C)C)O)(C)O)C)C)O)(C)O erythromycin
Nc1ccc(cc1)S(=O)(=O)c1ccc(N)cc1 dapsone
Nc1ncnc2c1ncn2[C@@H]1O[C@H](COP(=O)(O)OP(=O)(O)OP(=O)(O)O)[C@@H](O)[C@H]1O atp
OC(=O)CNCP(=O)(O)O glyphosate
CS(C)=O dmso
c1ccc(cc1)P(c1ccccc1)c1ccccc1 triphenylphosphine
COP(=S)(OC)Oc1ccc(cc1)[N+](=O)[O-] methyl_parathion
CC(C)(C)NCC(O)c1ccc(O)c(CO)c1 salbutamol
CN1CCN(CC1)C1=Nc2cc(Cl)ccc2Nc2ccccc21 clozapine
O=C(O)c1ccccc1O salicylic_acid
CC12CCC3C(CCC4=CC(=O)CCC34C)C1CCC2=O androstenedione_nostereo
Clc1ccc(cc1)C(c1ccc(Cl)cc1)C(Cl)(Cl)Cl ddt
CCN(CC)CC(=O)Nc1c(C)cccc1C lidocaine
CN1C2CCC1CC(C2)OC(=O)C(CO)c1ccccc1 atropine
FC(F)(F)c1ccc(Oc2ccc(cc2)[N+](=O)[O-])c(c1)[N+](=O)[O-] fluorodifen
OC[C@H]1O[C@@H](O[C@]2(CO)O[C@H](CO)[C@@H](O)[C@@H]2O)[C@H](O)[C@@H](O)[C@@H]1O sucrose
C1CCCCCCCCCCC1 cyclododecane
C1COCCOCCOCCOCCOCCO1 crown_18_6
O=C1CCCCCCCCCCCCCC1 cyclopentadecanone
C1CCC2(CC1)CCCC2 spiro_4_5_decane
C1CCC2(C1)CCCC2 spiro_4_4_nonane
C1CC2(C1)CC1(C2)CC1 dispiro
C1CC2CCC1C2 norbornane
C1C2CC3CC1CC(C2)C3 adamantane
C12C3C4C1C5C2C3C45 cubane
CC1(C)C2CCC1(C)C(=O)C2 camphor
C1CC2CCC1CC2 bicyclo_2_2_2_octane
C1CC2CC1C1CCCC21 tricyclic
c1ccc2c(c1)ccc1ccccc12 phenanthrene
c1ccc2cc3ccccc3cc2c1 anthracene
c1cc2ccc3cccc4ccc(c1)c2c34 pyrene
C1=CC=CC=CC=C1 cyclooctatetraene
c1ccc2ccccc2c1 naphthalene
C#N hydrogen_cyanide
O=C=O carbon_dioxide
C=C ethene
C#C ethyne
CCCCCCCCCCCCCCCCCC(=O)O stearic_acid
OCC(O)CO glycerol
"""

CHARGED = """
[NH4+] ammonium
C[N+](C)(C)C tetramethylammonium
CC(=O)[O-] acetate
[Na+].[Cl-] sodium_chloride
[O-][N+](=O)c1ccccc1 nitrobenzene
CN(=O)=O nitromethane_pentavalent
C[n+]1ccccc1 n_methylpyridinium
[O-]c1ccccc1 phenolate
C[S+](C)C trimethylsulfonium
[NH3+]CC(=O)[O-] glycine_zwitterion
C[N+](C)(C)CC(=O)[O-] betaine
[O-][n+]1ccccc1 pyridine_n_oxide
[B-](c1ccccc1)(c1ccccc1)(c1ccccc1)c1ccccc1 tetraphenylborate
[Cu+2].[O-]S(=O)(=O)[O-] copper_sulfate
F[P-](F)(F)(F)(F)F hexafluorophosphate
[BH4-] borohydride
CC[N+]1=CC=CC=C1 ethylpyridinium_kekule
c1cc[nH+]cc1 pyridinium
C[NH+]1CCCC1 pyrrolidinium
[O-][Cl+3]([O-])([O-])[O-] perchlorate
OS(=O)(=O)[O-] bisulfate
[K+].[O-]C(=O)c1ccccc1 potassium_benzoate
C[N+]#[C-] methyl_isocyanide
[N-]=[N+]=Nc1ccccc1 phenyl_azide
C[S-] methanethiolate
[Mg+2].[OH-].[OH-] magnesium_hydroxide
O=[N+]([O-])OC nitrate_ester
CC(C)[O-].[Na+] sodium_isopropoxide
"""

HETEROAROMATIC = """
c1ccncc1 pyridine
c1cc[nH]c1 pyrrole
c1ccoc1 furan
c1ccsc1 thiophene
c1cnc[nH]1 imidazole
c1ncncn1 triazine
c1cn[nH]c1 pyrazole
c1ccc2[nH]ccc2c1 indole
c1ccc2ncccc2c1 quinoline
c1ncc2[nH]cnc2n1 purine
c1cscn1 thiazole
c1cocn1 oxazole
c1nnn[nH]1 tetrazole
c1cc[se]c1 selenophene
O=c1cccc[nH]1 2_pyridone
O=c1cc[nH]c(=O)[nH]1 uracil
c1ccpcc1 phosphinine
c1ccc2occc2c1 benzofuran
c1ccc2sccc2c1 benzothiophene
c1cnccn1 pyrazine
c1ccnnc1 pyridazine
c1cncnc1 pyrimidine
Cn1cccc1 n_methylpyrrole
c1ccc2[nH]c3ccccc3c2c1 carbazole
O=c1ccocc1 4_pyrone
c1csc(n1)N 2_aminothiazole
Cc1noc(C)c1 dimethylisoxazole
c1ccc2c(c1)[nH]c(=O)[nH]2 benzimidazolone
c1ccc2nonc2c1 benzofurazan
c1nc[nH]n1 1_2_4_triazole
B1OB(O1)c1ccccc1 boronic_anhydride_small
OB(O)c1ccccc1 phenylboronic_acid
c1ccc2c(c1)ccn2C n_methylindole
Cc1ccc(s1)C=O methylthiophene_carbaldehyde
"""

STEREO_ISOTOPES = """
C[C@H](N)C(=O)O l_alanine
C[C@@H](N)C(=O)O d_alanine
F/C=C/F trans_difluoroethene
F/C=C\\F cis_difluoroethene
C/C=C/C=C/C hexadiene
N[C@@H](Cc1ccccc1)C(=O)O phenylalanine
O[C@H]1CCCC[C@@H]1O trans_cyclohexanediol
C[C@H]1CC[C@@H](C)CC1 dimethylcyclohexane
C[S@](=O)c1ccccc1 chiral_sulfoxide
C[Si@](F)(Cl)Br chiral_silane
O[C@H]1[C@H](O)[C@@H](O)[C@H](O)[C@@H](O)[C@@H]1O inositol
C[C@@H]1CCCC[C@H]1C dimethylcyclohexane_2
CC(C)[C@@H]1CC[C@@H](C)C[C@H]1O menthol
C/C=C/C(=O)O crotonic_acid
[2H]C([2H])([2H])O methanol_d3
[13CH4] methane_13c
[13cH]1ccccc1 benzene_13c
[2H]OC methanol_od
[18F]c1ccccc1 fluorobenzene_18f
C[14C](=O)O acetic_acid_14c
[3H]C methane_t
[15NH3] ammonia_15n
[2H][2H] deuterium
[H]C([H])([H])[H] methane_explicit_h
[H][H] hydrogen
[2H]c1c([2H])c([2H])c([2H])c([2H])c1[2H] benzene_d6
C[C@@H](O)[2H] ethanol_1d
[CH3] methyl_radical
[CH2]C methylene_ethyl_radical
[O]O hydroperoxyl
[C] carbon_atom
[NH2]c1ccccc1 aniline_bracket
[Cl-].[NH3+]C methylammonium_chloride
[13C@H](F)(Cl)Br chiral_13c
OC[C@@H](O)[C@@H](O)[C@H](O)[C@H](O)C=O glucose_open
"""

INVALID = [
    "C(C)(C)(C)(C)C", "N(C)(C)(C)C", "O(C)(C)C", "FC(F)(F)(F)F", "C(=C)(=C)=C", "Cl(C)C",
    "[NH4]", "[OH3]", "c1cccc1", "c1ccnc1", "n1cccc1", "c1ccc2c(c1)ccc2", "cc", "c", "Cc1ccc",
    "c1ccccc1(C)C", "C1CC", "C1CCC2CC1", "c1ccccc2", "CC(", "CC(C", "C(C(C)", "CC)", "C)C",
    "())", "C==C", "C#=C", "==", "hello", "X", "Cx", "123", "C%", "C%1", "[C", "C]", "[Xx]",
    "[CH5]", "B(C)(C)(C)C", "[BH4]", "[Si](C)(C)(C)(C)C", "C1CC1C1",
    "C12", "[12]", "[+]", "C..C", ".", "C(", ")", "(C)", "C1=CC=CC=C1=C", "c1ccccc1c", "[C@@@@H]",
    "O=O=O", "C=O=C", "c1cc[se]cc1", "C1CC(C1", "C(C)C)", "CC[", "日本", "C@C", "N#N#N", "CCN(=O)=O=O", "[nH]1ccccc1", "o1ccccc1", "c1ccsc1c1",
    "C=1CC=1=C", "F=F", "[H]=[H]", "Br(Br)Br",
]
TRICKY_VALID = [
    "C$C", "*C", "[*]CC", "C.C", "CCO.O", "[Na+2]", "S(C)(C)(C)C", "F[Cl](F)F", "ClI(Cl)Cl",
    "C1CC1", "c1ccccc1", "[nH]1cccc1", "C=1CC=1", "C%10CC%10", "C(C)C", "[Fe]", "[U]",
    "C/C=C/C", "O=S(=O)(O)O", "P(Cl)(Cl)(Cl)(Cl)Cl", "[OH-]", "[H+]", "[H-]", "[H]", "[2H]",
    "[C@H](F)(Cl)Br", "C[C@@H](O)CC", "N1C=CC=C1", "C1=CC=CC=C1", "C1=CC=CN=C1", "[Xe]",
    "O=[Xe](=O)(=O)=O", "CC(C)(C)(C)", "S(C)(C)C", "P(C)(C)(C)C", "[N+5]",
    "[SH5]", "Cé", "[Cl-2]C", "C(C)(C)(C)C", "OC(=O)C(F)(F)F", "[CH3-]", "[C-]#[O+]",
]
SMILES_CHARS = "CNOSPFIBrcnosp()[]=#@+-123456789%/\\.Hl*"


def rows(path, n, seed, pick):
    with gzip.open(path, "rt") as f:
        lines = f.read().splitlines()
    return random.Random(seed).sample(pick(lines), n)


def named(block):
    return [tuple(line.rsplit(" ", 1)) for line in block.strip().splitlines()]


def valid(s):
    m = Chem.MolFromSmiles(s)
    return m is not None and m.GetNumAtoms() > 0


def mutate(s, rng):
    i = rng.randrange(len(s) + 1)
    op = rng.choice(("insert", "delete", "swap", "replace"))
    c = rng.choice(SMILES_CHARS)
    if op == "insert":
        return s[:i] + c + s[i:]
    j = min(i, len(s) - 1)
    if op == "delete":
        return s[:j] + s[j + 1:]
    if op == "replace":
        return s[:j] + c + s[j + 1:]
    k = rng.randrange(len(s))
    t = list(s)
    t[j], t[k] = t[k], t[j]
    return "".join(t)


def main():
    header = f"# rdkit {rdkit.__version__}; generated by scripts/make-rdkit-fixtures.py (seed {SEED})"
    moses = rows(ROOT / "data" / "moses_sample.smi.gz", N_MOSES, SEED, lambda ls: ls)
    qm9 = rows(ROOT / "data" / "qm9_slim.csv.gz", N_QM9, SEED, lambda ls: [l.split(",")[1] for l in ls[1:]])
    mols = [("moses", s) for s in moses] + [("qm9", s) for s in qm9]
    for tag, block in (("drug", DRUGS), ("charged", CHARGED), ("hetero", HETEROAROMATIC), ("stereo_iso", STEREO_ISOTOPES)):
        mols += [(f"{tag}:{name}", s) for s, name in named(block)]

    morgan = rdFingerprintGenerator.GetMorganGenerator(radius=2)
    bits = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    lines, fps, seen = [], [], set()
    for source, s in mols:
        m = Chem.MolFromSmiles(s)
        assert m is not None and m.GetNumAtoms() > 0, (source, s)
        counts = morgan.GetSparseCountFingerprint(m).GetNonzeroElements()
        canonical = Chem.MolToSmiles(m)
        vals = [QED.qed(m), Crippen.MolLogP(m), rdMolDescriptors.CalcTPSA(m), Descriptors.MolWt(m)]
        lines.append("\t".join([source, s, canonical, *(f"{v:.8f}" for v in vals), str(m.GetNumHeavyAtoms()),
                                f"{sascorer.calculateScore(m):.8f}", str(len(counts)),
                                str(sum(k * v for k, v in counts.items()) % 2**32)]))
        if canonical not in seen:
            seen.add(canonical)
            fps.append(bits.GetFingerprint(m))
    sims = [x for i in range(1, len(fps)) for x in DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i])]
    diversity = 1.0 - sum(sims) / len(sims)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "descriptors.tsv", "w") as f:
        f.write(header + "\n")
        f.write(f"# internal_diversity {diversity:.10f} over {len(fps)} distinct molecules\n")
        f.write("source\tsmiles\tcanonical\tqed\tlogp\ttpsa\tmw\theavy_atoms\tsa\tmorgan_nnz\tmorgan_sum\n")
        f.writelines(l + "\n" for l in lines)

    bad = [s for s in INVALID if valid(s)]
    assert not bad, f"RDKit accepts these 'invalid' strings: {bad}"
    rng = random.Random(SEED + 1)
    mutated = {mutate(s, rng) for s in rows(ROOT / "data" / "moses_sample.smi.gz", N_MUTATED, SEED + 2, lambda ls: ls)}
    checks = ([("invalid", s) for s in INVALID] + [("tricky", s) for s in TRICKY_VALID]
              + [("mutated", s) for s in sorted(mutated)])
    with open(OUT / "validity.tsv", "w") as f:
        f.write(header + "\n")
        f.write("source\tsmiles\tvalid\n")
        f.writelines(f"{src}\t{s}\t{int(valid(s))}\n" for src, s in checks)
    print(f"{len(lines)} molecules, {len(checks)} validity strings "
          f"({sum(valid(s) for _, s in checks)} valid), internal diversity {diversity:.6f}")


if __name__ == "__main__":
    main()
