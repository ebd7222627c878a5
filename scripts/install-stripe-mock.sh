#!/usr/bin/env bash
# Install stripe-mock, Stripe's official mock of its API (a Go program), for the payment tests:
#
#   go install github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION
#
# It lands in ${CINEMAABYSS_GO_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/cinemaabyss/go-bin}, next to
# the other Go tools of the tests; a binary already built at the pinned version is not rebuilt,
# so a second run takes milliseconds. Prints the binary's path on its last line (the test
# fixture reads it). Needs only `go` and the Go module proxy.
set -euo pipefail

STRIPE_MOCK_VERSION="${STRIPE_MOCK_VERSION:-v0.203.0}"
MODULE="github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION"
DIR="${CINEMAABYSS_GO_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/cinemaabyss/go-bin}"
BIN="$DIR/stripe-mock"
STAMP="$DIR/.stripe-mock.version"
mkdir -p "$DIR"

if [[ -x "$BIN" && "$(cat "$STAMP" 2>/dev/null)" == "$MODULE" ]]; then
  echo "$BIN"
  exit 0
fi
command -v go >/dev/null 2>&1 || { echo "install-stripe-mock: go is not installed (Debian: apt-get install golang-go, or go.dev)" >&2; exit 1; }
LOG="$DIR/install.log"
echo "install-stripe-mock: go install $MODULE (log: $LOG)" >&2
GOBIN="$DIR" GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0 go install "$MODULE" >>"$LOG" 2>&1 ||
  { echo "install-stripe-mock: go install $MODULE failed; see $LOG" >&2; exit 1; }
echo "$MODULE" >"$STAMP"
echo "$BIN"
