#!/usr/bin/env python3
"""Builds data/debian_summaries.tsv.gz: Debian package long descriptions paired with their
one-line synopses (human-written summaries), the text domain's stand-in for Reddit TL;DR.

    apt-get update -o Acquire::Languages=en      # Debian images often disable translations
    python3 scripts/make-text-data.py

Reads the bookworm `main` Translation-en index (and the binary Packages index, for each
package's source package) from /var/lib/apt/lists/, both lz4-compressed (the `lz4` command
must be installed). Standard library only.

Pairs: body = the long description with its paragraphs joined by a blank line (list items kept
as lines), summary = the synopsis (the `Description-en:` line). Filters, as in
../shared/docs/DATA.md §3: body 40–300 words, summary 3–20 words; the summary must not be a
verbatim part of the body; bodies are deduplicated by their first paragraph (the
alphabetically first package keeps it, so families such as `0ad`, `0ad-data`, whose long
descriptions differ only by a closing sentence, keep one pair), and (summary, source) pairs
are unique. Split by *source package* (SHA-256 of its name), so binary
packages of one source never straddle splits: 90 % train, 5 % val, 5 % test.

Output (UTF-8, tab-separated, gzip with mtime 0 so the bytes are deterministic): header
`package	source	split	summary	body`; tabs and newlines inside fields are written as the
two-character escapes `\\t` and `\\n`.

Licence: the descriptions come from packages in Debian main, all DFSG-free, each under its own
package's licence; the full corpus is therefore generated locally, not committed.
"""

import gzip
import hashlib
import io
import re
import subprocess
import sys
from pathlib import Path

LISTS = Path("/var/lib/apt/lists")
OUT = Path(__file__).resolve().parent.parent / "data" / "debian_summaries.tsv.gz"


def lz4_text(pattern):
    files = sorted(LISTS.glob(pattern))
    if not files:
        sys.exit(
            f"no {pattern} under {LISTS}: run `apt-get update -o Acquire::Languages=en` first"
        )
    out = subprocess.run(["lz4", "-dc", str(files[0])], check=True, capture_output=True)
    return out.stdout.decode("utf-8", errors="replace")


def stanzas(text):
    """Debian control-file stanzas as dicts; continuation lines stay in their field."""
    for block in text.split("\n\n"):
        fields, key = {}, None
        for line in block.split("\n"):
            if line.startswith((" ", "\t")) and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, value = line.split(":", 1)
                fields[key] = value.strip()
        if fields:
            yield fields


def body_text(lines):
    """Long-description continuation lines → paragraphs joined by blank lines."""
    paragraphs, current = [], []
    for raw in lines:
        line = raw[1:] if raw.startswith(" ") else raw
        if line.strip() == ".":
            if current:
                paragraphs.append(current)
            current = []
        elif re.match(r"^\s*([*+-]|o)\s", line) or line.startswith(" "):
            current.append("\n" + line.strip())  # list item or preformatted: own line
        else:
            current.append(line.strip())
    if current:
        paragraphs.append(current)
    text = "\n\n".join(" ".join(p).replace(" \n", "\n").strip() for p in paragraphs)
    return re.sub(r"[ \t]+", " ", text).strip()


def words(s):
    return len(s.split())


def split_of(source):
    h = int.from_bytes(hashlib.sha256(source.encode()).digest()[:8], "big") % 100
    return "test" if h < 5 else "val" if h < 10 else "train"


def esc(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def main():
    sources = {}
    for st in stanzas(lz4_text("*_debian_dists_bookworm_main_binary-amd64_Packages.lz4")):
        pkg = st.get("Package")
        if pkg:
            sources[pkg] = st.get("Source", pkg).split()[0]
    rows, seen_body, seen_summary = [], set(), set()
    total = 0
    for st in sorted(
        stanzas(lz4_text("*_debian_dists_bookworm_main_i18n_Translation-en.lz4")),
        key=lambda s: s.get("Package", ""),
    ):
        desc = st.get("Description-en")
        pkg = st.get("Package")
        if not desc or not pkg:
            continue
        total += 1
        first, *rest = desc.split("\n")
        summary, body = first.strip(), body_text(rest)
        source = sources.get(pkg, pkg)
        if not (40 <= words(body) <= 300 and 3 <= words(summary) <= 20):
            continue
        if summary.lower().rstrip(".") in body.lower():
            continue
        key_body = body.split("\n\n")[0].lower()
        key_summary = (summary.lower(), source)
        if key_body in seen_body or key_summary in seen_summary:
            continue
        seen_body.add(key_body)
        seen_summary.add(key_summary)
        rows.append((pkg, source, split_of(source), summary, body))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        gz.write(b"package\tsource\tsplit\tsummary\tbody\n")
        for r in rows:
            gz.write(("\t".join(esc(x) for x in r) + "\n").encode())
    OUT.write_bytes(buf.getvalue())
    counts = {s: sum(r[2] == s for r in rows) for s in ("train", "val", "test")}
    print(f"{total} descriptions, {len(rows)} pairs kept {counts} -> {OUT}")


if __name__ == "__main__":
    main()
