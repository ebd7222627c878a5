#!/usr/bin/env bash
# Find promtool (validates deploy/prometheus/alerts.yml in the deploy tests) and print its path
# on the last line (tests read it).
#
# `scripts/bootstrap.sh --test` installs it from Debian's `prometheus` package (seconds). Where
# there is no promtool on PATH (another distribution), it is built as a Go module instead:
#
#   promtool  github.com/prometheus/prometheus/cmd/promtool
#
# into ${CINEMAABYSS_GO_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/cinemaabyss/go-bin}; a promtool of
# the pinned version already there is not rebuilt (the first build takes many minutes:
# Prometheus is large).
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  command -v promtool
  exit 0
fi

PROMETHEUS_MODULE_VERSION="${PROMETHEUS_MODULE_VERSION:-v0.316.0}"  # the Go module's tag of Prometheus 3.x

DIR="${CINEMAABYSS_GO_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/cinemaabyss/go-bin}"
mkdir -p "$DIR"
die() { echo "install-promtool: $*" >&2; exit 1; }
command -v go >/dev/null 2>&1 || die "neither promtool nor go is installed (Debian: apt-get install prometheus)"

MODULE="github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION"
LOG="$DIR/install-promtool.log"
if [[ ! -x "$DIR/promtool" || "$(cat "$DIR/.promtool.version" 2>/dev/null)" != "$MODULE" ]]; then
  echo "install-promtool: go install $MODULE (log: $LOG)" >&2
  GOBIN="$DIR" GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0 go install "$MODULE" >"$LOG" 2>&1 ||
    die "go install $MODULE failed; see $LOG"
  echo "$MODULE" >"$DIR/.promtool.version"
fi
echo "$DIR/promtool"
