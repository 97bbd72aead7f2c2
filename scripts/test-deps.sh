#!/usr/bin/env bash
# Brings what the tests need onto a fresh machine, where it is missing:
# the Go modules and redis-server (the tests start their own on a free port
# unless SIEVE_REDIS_ADDR names one). Kafka needs nothing: the tests embed
# franz-go's kfake broker.
set -euo pipefail
cd "$(dirname "$0")/.."
go mod download
if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server (Debian package)"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi
redis-server --version
