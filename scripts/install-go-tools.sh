#!/usr/bin/env bash
# Install the Kubernetes tooling the deploy tests use, as Go modules, into a cache directory:
#
#   helm         helm.sh/helm/v3/cmd/helm            (renders deploy/helm/cinemaabyss)
#   kubeconform  github.com/yannh/kubeconform        (validates the rendered manifests)
#   schemas      Kubernetes JSON schemas for kubeconform, generated offline (see below)
#
# Everything lands in ${CINEMAABYSS_GO_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/cinemaabyss/go-bin};
# a tool already there is not rebuilt, so the second run takes milliseconds. Prints the
# directory on its last line (tests read it). Needs only `go` and the Go module proxy.
#
# Schemas: kubeconform normally downloads them from GitHub, which our machines cannot reach.
# The Kubernetes OpenAPI v2 document ships inside the Go module k8s.io/kubernetes
# (api/openapi-spec/swagger.json); deploy/tools/k8s-schemas (a small Go program, stdlib only)
# turns it into per-kind files in kubeconform's own layout, so the tests run
#   kubeconform -strict -kubernetes-version "${KUBERNETES_VERSION#v}" -schema-location "$DIR/schemas"
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.16.4}"
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.7.0}"
KUBERNETES_VERSION="${KUBERNETES_VERSION:-v1.31.4}"  # the API version the schemas describe

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${CINEMAABYSS_GO_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/cinemaabyss/go-bin}"
mkdir -p "$DIR"

die() { echo "install-go-tools: $*" >&2; exit 1; }
command -v go >/dev/null 2>&1 || die "go is not installed (Debian: apt-get install golang-go, or go.dev)"

LOG="$DIR/install.log"
export GOBIN="$DIR" GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0

install_tool() {  # name, module@version; the stamp file records which version was built
  local name="$1" module="$2"
  if [[ -x "$DIR/$name" && "$(cat "$DIR/.$name.version" 2>/dev/null)" == "$module" ]]; then
    return
  fi
  echo "install-go-tools: go install $module (log: $LOG)" >&2
  go install "$module" >>"$LOG" 2>&1 || die "go install $module failed; see $LOG"
  echo "$module" >"$DIR/.$name.version"
}

install_tool helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
install_tool kubeconform "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"

SCHEMAS="$DIR/schemas"
if [[ ! -f "$SCHEMAS/.complete-$KUBERNETES_VERSION" ]]; then
  echo "install-go-tools: generating Kubernetes $KUBERNETES_VERSION JSON schemas (log: $LOG)" >&2
  # `go mod download` fetches the module zip through the module proxy without building it
  spec_dir=$(cd "$DIR" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" 2>>"$LOG" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p') || true
  [[ -n "$spec_dir" && -f "$spec_dir/api/openapi-spec/swagger.json" ]] ||
    die "cannot download k8s.io/kubernetes@$KUBERNETES_VERSION; see $LOG"
  tmp="$DIR/schemas.tmp"
  rm -rf "$tmp"
  (cd "$ROOT/deploy/tools/k8s-schemas" &&
    go run . "$spec_dir/api/openapi-spec/swagger.json" "$tmp" "$KUBERNETES_VERSION") \
    >>"$LOG" 2>&1 || die "schema generation failed; see $LOG"
  mkdir -p "$SCHEMAS"
  for sub in "$tmp"/*; do
    rm -rf "$SCHEMAS/$(basename "$sub")" && mv "$sub" "$SCHEMAS/"
  done
  rm -rf "$tmp"
  touch "$SCHEMAS/.complete-$KUBERNETES_VERSION"
fi
echo "$DIR"
