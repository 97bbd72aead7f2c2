#!/usr/bin/env bash
# Brings what the tests need onto a fresh machine, where it is missing.
# Today that is only the Go modules; services the tests start (Kafka) are
# embedded. Later issues add redis-server and the ONNX Runtime library here.
set -euo pipefail
cd "$(dirname "$0")/.."
go mod download
