#!/usr/bin/env python3
"""Write the dense head's own probabilities for a few dev rows, computed
with numpy straight from the head's file (not from PyTorch), so that
models.TestDenseHeadMatchesScript checks Sieve's Go forward pass against
an independent one.

    dense_golden.py --dense .cache/moderation.dense --data ROWS --out models/testdata/dense_golden.jsonl

(make dense runs it on the head it just trained.)
"""
import argparse
import json
import struct

import numpy as np


def read_head(path):
    b = open(path, "rb").read()
    assert b[:8] == b"SIEVEDNS", "not a dense head"
    off = 8
    (n,) = struct.unpack_from("<I", b, off)
    off += 4
    h = json.loads(b[off:off + n])
    off += n
    (n,) = struct.unpack_from("<I", b, off)
    off += 4
    vocab = b[off:off + n].decode().split("\n")
    off += n
    v, dim, hid, k = h["vocab"], h["dim"], h["hidden"], len(h["classes"])
    inputs = 3 if h.get("adjacent") else 2
    emb = np.frombuffer(b, np.int8, v * dim, off).reshape(v, dim).astype(np.float32)
    off += v * dim

    def floats(count):
        nonlocal off
        x = np.frombuffer(b, "<f4", count, off).astype(np.float32)
        off += 4 * count
        return x

    scale = floats(v)
    w1 = floats(inputs * dim * hid).reshape(inputs * dim, hid)
    b1 = floats(hid)
    w2 = floats(hid * k).reshape(hid, k)
    b2 = floats(k)
    assert off == len(b), "trailing bytes"
    index = {}
    for i, w in enumerate(vocab):
        index.setdefault(w, i)
    return h, index, emb * scale[:, None], w1, b1, w2, b2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dense", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=40)
    a = ap.parse_args()
    h, index, emb, w1, b1, w2, b2 = read_head(a.dense)
    out = []
    with open(a.data) as f:
        for line in f:
            r = json.loads(line)
            if r["part"] != "dev" or not r["tokens"]:
                continue
            e = emb[[index.get(t, 0) for t in r["tokens"]]]
            pooled = [e.mean(0), e.max(0)]
            if h.get("adjacent"):
                pooled.append((e[1:] * e[:-1]).sum(0) / len(e))
            hidden = np.maximum(np.concatenate(pooled) @ w1 + b1, 0)
            p = 1 / (1 + np.exp(-(hidden @ w2 + b2)))
            out.append({"tokens": r["tokens"], "probs": [round(float(x), 6) for x in p]})
            if len(out) == a.rows:
                break
    with open(a.out, "w") as f:
        for row in out:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
