#!/usr/bin/env bash
# The fastText peer of the model card (docs/models.md): Debian's fastText
# trained on exactly the #train rows of each built-in model's recipe (as
# `go run ./models/build -fasttext DIR` writes them, labels mapped as in
# training) and scored on the same #test rows. No threshold calibration:
# multi-class models take the most probable label, binary and multi-label
# ones (one-vs-all loss) every label at or above 0.5. Writes
# models/fasttext.json, which `make models` puts in the card.
# Needs: apt-get install fasttext.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/datasets}
OUT=${OUT:-models/fasttext.json}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go run ./models/build -data "$DATA" -fasttext "$work"
for kind in "$work"/*.kind; do
  name=$(basename "$kind" .kind)
  loss=softmax
  if [ "$(cat "$kind")" != "multi-class" ]; then loss=ova; fi
  fasttext supervised -input "$work/$name.train" -output "$work/$name" -epoch 25 -wordNgrams 2 -minn 3 -maxn 5 -dim 50 \
    -lr 0.5 -seed 1 -thread 1 -loss "$loss" -verbose 0 >/dev/null
  sed -E 's/^(__label__[^ ]+ )+//' "$work/$name.test" > "$work/$name.text"
  if [ "$loss" = ova ]; then
    fasttext predict "$work/$name.bin" "$work/$name.text" -1 0.5 > "$work/$name.pred"
  else
    fasttext predict "$work/$name.bin" "$work/$name.text" > "$work/$name.pred"
  fi
done
python3 - "$work" "$OUT" <<'PY'
import json, os, sys
work, out = sys.argv[1], sys.argv[2]
result = {}
for f in sorted(os.listdir(work)):
    if not f.endswith(".kind"):
        continue
    name = f[:-5]
    truth = [set(t[9:] for t in l.split() if t.startswith("__label__")) - {"benign"} for l in open(os.path.join(work, name + ".test"))]
    pred = [set(t[9:] for t in l.split()) - {"benign"} for l in open(os.path.join(work, name + ".pred"))]
    assert len(truth) == len(pred), name
    labels = sorted(set().union(*truth) | set().union(*pred))
    per = {}
    for l in labels:
        tp = sum(l in t and l in p for t, p in zip(truth, pred))
        fp = sum(l not in t and l in p for t, p in zip(truth, pred))
        fn = sum(l in t and l not in p for t, p in zip(truth, pred))
        if tp + fn:
            per[l] = round(2 * tp / (2 * tp + fp + fn), 4)
    tp = sum(bool(t) and bool(p) for t, p in zip(truth, pred))
    fp = sum(not t and bool(p) for t, p in zip(truth, pred))
    fn = sum(bool(t) and not p for t, p in zip(truth, pred))
    acc = sum(t == p for t, p in zip(truth, pred)) / len(truth)
    result[name] = {"labels": per, "macro_f1": round(sum(per.values()) / max(1, len(per)), 4),
                    "any_f1": round(2 * tp / max(1, 2 * tp + fp + fn), 4), "accuracy": round(acc, 4), "rows": len(truth)}
    print(f"fastText {name}: {result[name]}")
with open(out, "w") as f:
    json.dump(result, f, indent=1, sort_keys=True)
    f.write("\n")
PY
