#!/usr/bin/env bash
# Builds every main package (node binaries, eddy, test fixtures) into bin/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
go build -o bin/ ./nodes/... ./tests/...
ls bin
