#!/usr/bin/env python3
"""A broad probe of the molecules command line with bad input, as a careless user and a hostile
file would give it: every numeric flag with values at and past the edges, bad lists and
enumerations, paths that are files, missing or foreign, results directories damaged, edited,
resumed with other settings or in use, checkpoints damaged. Each case is classified:

  refused  non-zero exit, `error: …` first, before any run was written (the goal)
  late     refused, but only after work was done (`runs/pretrained.json` written)
  panic    a Rust panic or an abort
  silent   exit 0 on input that should have been refused
  hang     still running after the time limit (killed)

Usage: scripts/probe-cli.py [path to the molecules binary] (default target/release/examples/
molecules). Prints one line per case that is not `refused`, then the counts.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target/release/examples/molecules"
LIMIT = 90

BAD_COUNTS = ["0", "-1", "1e18", "1000000000000000000", "18446744073709551615",
              "18446744073709551616", "nan", "inf", "abc", "", "1.5", "0x10"]
BAD_FLOATS = ["-1", "nan", "inf", "-inf", "1e309", "abc", ""]
COUNT_FLAGS = ["--seeds", "--iterations", "--samples", "--merge-every", "--eval-samples",
               "--max-new-tokens", "--ppo-epochs", "--minibatches", "--ric-bins",
               "--ric-rounds", "--checkpoint-every", "--log-every", "--lora-rank"]
# Values that are valid for a flag although they are in the lists above.
# (A checkpoint or log period past the run's length only means "at merges and at the end".)
VALID = {("--ric-rounds", "0")} | {
    (f, v) for f in ("--checkpoint-every", "--log-every")
    for v in ("1e18", "1000000000000000000", "18446744073709551615")}
FLOAT_FLAGS = ["--lr", "--expert-lr", "--kl-coef", "--ric-lr", "--lora-alpha",
               "--lora-dropout"]


def run(args, out, timeout=LIMIT):
    cmd = [str(BIN), "--quick", "--out", str(out)] + args
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        return None, ""


def snapshot(out):
    """Every file under `out` with its bytes (to tell whether a refused case did work)."""
    out = Path(out)
    if not out.is_dir():
        return {}
    return {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != ".lock"}


def classify(code, stderr, out, expect_ok=False, before=None):
    if code is None:
        return "hang"
    if code < 0 or code == 134 or "panicked" in stderr or code == 101:
        return "panic"
    if code == 0:
        return "ok" if expect_ok else "silent"
    if expect_ok:
        return "refused-valid"
    if before is not None:
        return "refused" if snapshot(out) == before else "late"
    if (Path(out) / "runs/pretrained.json").exists():
        return "late"
    return "refused"


def main():
    if not BIN.exists():
        sys.exit(f"{BIN} not built: cargo build --release --example molecules")
    tmp = Path(tempfile.mkdtemp(prefix="mr-probe-"))
    cases = []

    def case(name, args, out=None, setup=None, expect_ok=False):
        out = out or tmp / f"out{len(cases)}"
        before = None
        if setup:
            setup(out)
            before = snapshot(out)
        code, stderr = run(args, out)
        kind = classify(code, stderr, out, expect_ok, before)
        first = stderr.strip().splitlines()[-1] if stderr.strip() else ""
        cases.append((name, kind, first[:160]))
        if kind not in ("refused", "ok"):
            print(f"{kind:8} {name}: {first[:160]}", flush=True)

    for flag in COUNT_FLAGS:
        for v in BAD_COUNTS:
            if (flag, v) in VALID:
                continue
            extra = ["--lora-rank", "2"] if flag.startswith("--lora") and flag != "--lora-rank" else []
            case(f"{flag} {v!r}", [flag, v] + extra)
    for flag in FLOAT_FLAGS:
        for v in BAD_FLOATS:
            if (flag, v) in VALID:
                continue
            extra = ["--lora-rank", "2"] if flag.startswith("--lora") else []
            case(f"{flag} {v!r}", [flag, v] + extra)
    for v in ["", "morlhf,morlhf", "foo", "soups,,ric", "IterativeRS", "ric,ric,ric"]:
        case(f"--strategies {v!r}", ["--strategies", v])
    for v in ["", "1,1", "0", "8,1,8", "a", "1,100", "-1"]:
        case(f"--sweep-m {v!r}", ["--iterations", "24", "--sweep-m", v])
    for v in ["", "x", "qed,qed", "alpha,qed,nope"]:
        case(f"--objectives {v!r}", ["--objectives", v])
    for v in ["", "0", "-1e-4", "nan", "1e-4,abc"]:
        case(f"--select-lr {v!r}", ["--select-lr", v])
    for v in ["nope", "q_proj", ""]:
        case(f"--lora-targets {v!r}", ["--lora-rank", "2", "--lora-targets", v])
    for flag, v in [("--estimator", "ppo"), ("--budget", "x"), ("--adam-at-merge", "x"),
                    ("--ric-target", "x"), ("--save-policies", "x"), ("--lora-merge", "x")]:
        case(f"{flag} {v!r}", [flag, v])

    # Paths.
    a_file = tmp / "a-file"
    a_file.write_text("mine")
    empty = tmp / "empty"
    empty.mkdir()
    garbage = tmp / "garbage-policy"
    garbage.mkdir()
    (garbage / "config.json").write_text("{not json")
    for name, args in [
        ("--policy missing", ["--policy", str(tmp / "missing")]),
        ("--policy a file", ["--policy", str(a_file)]),
        ("--policy an empty folder", ["--policy", str(empty)]),
        ("--policy a bad config", ["--policy", str(garbage)]),
        ("--checkpoint-dir a file", ["--checkpoint-dir", str(a_file)]),
        ("--checkpoint-dir under a file", ["--checkpoint-dir", str(a_file / "x")]),
        ("--metrics under a file", ["--metrics", str(a_file / "m.jsonl")]),
    ]:
        case(name, args)
    case("--out a file", [], out=a_file)
    case("--out under a file", [], out=a_file / "sub")
    assert a_file.read_text() == "mine", "a user's file was changed"

    # Results directories: one finished quick run, then damaged copies resumed.
    good = tmp / "good"
    fast = ["--strategies", "morlhf", "--eval-samples", "16"]
    code, stderr = run(fast, good, timeout=600)
    assert code == 0, stderr

    def copy(out):
        shutil.copytree(good, out)

    def edit(rel, f):
        def setup(out):
            copy(out)
            p = out / rel
            p.write_bytes(f(p.read_bytes()))
        return setup

    def remove(rel):
        def setup(out):
            copy(out)
            (out / rel).unlink()
        return setup

    resume = fast + ["--resume"]
    case("resume: same settings", resume, setup=copy, expect_ok=True)
    for flag, v in [("--lr", "3e-4"), ("--kl-coef", "0.1"), ("--objectives", "qed,logp,sa"),
                    ("--max-new-tokens", "40"), ("--eval-samples", "32"),
                    ("--samples", "16"), ("--estimator", "gae")]:
        args = [a for a in resume]
        if flag in args:
            i = args.index(flag)
            args[i + 1] = v
        else:
            args += [flag, v]
        case(f"resume with {flag} {v}", args, setup=copy)
    other = tmp / "other-policy"
    subprocess.run([str(BIN.parent / "pretrain_smiles"), "--arch", "llama", "--kv-heads", "1",
                    "--layers", "1", "--d-model", "32", "--heads", "2", "--d-ff", "64",
                    "--steps", "5", "--samples", "20", "--out", str(other)],
                   cwd=ROOT, capture_output=True, check=True)
    case("resume with another policy", resume + ["--policy", str(other)], setup=copy)
    case("resume: manifest removed", resume, setup=remove("manifest.json"))
    case("resume: manifest empty", resume, setup=edit("manifest.json", lambda b: b"{}"))
    case("resume: manifest cut", resume, setup=edit("manifest.json", lambda b: b[: len(b) // 2]))
    case("resume: run record edited", resume,
         setup=edit("runs/morlhf-seed0.json", lambda b: b.replace(b'"seed": 0', b'"seed": 0 ')))
    case("resume: scores x10", resume,
         setup=edit("runs/morlhf-seed0.json",
                    lambda b: json.dumps({**json.loads(b),
                                          "scores": [[10 * x if x is not None else None
                                                      for x in row]
                                                     for row in json.loads(b)["scores"]]}
                                         ).encode()))
    case("resume: a planted run record", resume,
         setup=lambda out: (copy(out), (out / "runs/soups-seed0.json").write_text("{}")))
    case("resume: pretrained record removed (re-evaluated)", resume,
         setup=remove("runs/pretrained.json"), expect_ok=True)

    # A second writer while the first holds the directory.
    busy = tmp / "busy"
    first = subprocess.Popen([str(BIN), "--quick", "--out", str(busy)] + fast, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while not (busy / "manifest.json").exists() and time.time() - t0 < 60:
        time.sleep(0.05)
    code, stderr = run(fast, busy)
    kind = "refused" if code not in (0, None) and "in use by process" in stderr else "silent"
    cases.append(("a second writer", kind, stderr.strip()[:160]))
    if kind != "refused":
        print(f"{kind:8} a second writer: {stderr.strip()[:160]}")
    first.send_signal(signal.SIGKILL)
    first.wait()

    counts = {}
    for _, kind, _ in cases:
        counts[kind] = counts.get(kind, 0) + 1
    print(f"\n{len(cases)} cases: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    shutil.rmtree(tmp, ignore_errors=True)
    bad = sum(v for k, v in counts.items() if k not in ("refused", "ok"))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
