#!/usr/bin/env bash
# Trains Debian's fastText on the same deterministic split as Sieve's
# built-in models (train part; no calibration) and scores the held-out test
# part, for the README's peer comparison. Needs: apt-get install fasttext.
set -euo pipefail
DATA=${DATA:-../shared/datasets}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
split() { # set part -> fastText lines
  python3 - "$1" "$2" <<'PY'
import hashlib, json, sys, re
path, part = sys.argv[1], sys.argv[2]
lo, hi = {"train": (0, 80), "dev": (80, 90), "test": (90, 100)}[part]
for line in open(path):
    r = json.loads(line)
    b = int.from_bytes(hashlib.sha256(r["id"].encode()).digest()[:8], "big") % 100
    if lo <= b < hi:
        label = r["labels"][0] if r["labels"] else "benign"
        # A review's title is the first line of its text, as Sieve reads it.
        text = re.sub(r"\s+", " ", (r.get("title") or "") + " " + r["text"]).strip().lower()
        print(f"__label__{label} {text}")
PY
}
for set in sms_spam davidson_hate_offensive review_sentiment prompt_attacks review_category; do
  split "$DATA/$set/train.jsonl" train > "$work/$set.train"
  split "$DATA/$set/train.jsonl" test > "$work/$set.test"
  fasttext supervised -input "$work/$set.train" -output "$work/$set" -epoch 25 -wordNgrams 2 -minn 3 -maxn 5 -dim 50 -lr 0.5 -seed 1 -thread 1 -verbose 0 >/dev/null
  fasttext predict "$work/$set.bin" "$work/$set.test" > "$work/$set.pred"
  python3 - "$set" "$work/$set.test" "$work/$set.pred" <<'PY'
import sys
name, test, pred = sys.argv[1:]
truth = [l.split()[0][9:] for l in open(test)]
preds = [l.strip()[9:] for l in open(pred)]
labels = sorted(set(truth) - {"benign"})
acc = sum(t == p for t, p in zip(truth, preds)) / len(truth)
out, wf = [], 0
for c in sorted(set(truth)):
    tp = sum(t == c and p == c for t, p in zip(truth, preds))
    fp = sum(t != c and p == c for t, p in zip(truth, preds))
    fn = sum(t == c and p != c for t, p in zip(truth, preds))
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    wf += f1 * truth.count(c) / len(truth)
    if c in labels:
        out.append(f"{c} F1 {f1:.4f}")
print(f"fastText {name}: accuracy {acc:.4f} weighted F1 {wf:.4f}; " + "; ".join(out))
PY
done
