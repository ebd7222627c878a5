#!/usr/bin/env bash
# Install promtool (validates deploy/prometheus/alerts.yml in the deploy tests) as a Go module:
#
#   promtool  github.com/prometheus/prometheus/cmd/promtool
#
# It lands in ${CINEMAABYSS_GO_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/cinemaabyss/go-bin}, beside
# helm and kubeconform (scripts/install-go-tools.sh); a promtool of the pinned version already
# there is not rebuilt. Prints the binary's path on its last line (tests read it). Needs only
# `go` and the Go module proxy (the first build takes a few minutes: Prometheus is large).
set -euo pipefail

PROMETHEUS_MODULE_VERSION="${PROMETHEUS_MODULE_VERSION:-v0.316.0}"  # the Go module's tag of Prometheus 3.x

DIR="${CINEMAABYSS_GO_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/cinemaabyss/go-bin}"
mkdir -p "$DIR"
die() { echo "install-promtool: $*" >&2; exit 1; }
command -v go >/dev/null 2>&1 || die "go is not installed (Debian: apt-get install golang-go, or go.dev)"

MODULE="github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION"
LOG="$DIR/install-promtool.log"
if [[ ! -x "$DIR/promtool" || "$(cat "$DIR/.promtool.version" 2>/dev/null)" != "$MODULE" ]]; then
  echo "install-promtool: go install $MODULE (log: $LOG)" >&2
  GOBIN="$DIR" GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0 go install "$MODULE" >"$LOG" 2>&1 ||
    die "go install $MODULE failed; see $LOG"
  echo "$MODULE" >"$DIR/.promtool.version"
fi
echo "$DIR/promtool"
