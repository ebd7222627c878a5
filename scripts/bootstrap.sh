#!/usr/bin/env bash
# Install what the local stack needs, only what is missing; fast when everything is present.
#
#   scripts/bootstrap.sh          PostgreSQL, Redis, a JRE 17+, Maven, .venv with the project
#   scripts/bootstrap.sh --test   the same plus Chromium (browser tests)
#
# Debian/Ubuntu packages come from apt (as root, or through sudo); `apt-get update` runs only
# when something has to be installed. The virtualenv is re-synced only when setup.cfg or
# pyproject.toml changed since the last install (hash stamp in .venv).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LOG_DIR="$ROOT/.run/logs"
mkdir -p "$LOG_DIR"
WITH_TEST=0
[[ "${1:-}" == "--test" ]] && WITH_TEST=1

die() { echo "bootstrap: $*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  have sudo || die "not root and no sudo: install the missing packages by hand"
  SUDO="sudo"
fi

java_ok() {
  have java || return 1
  # "17.0.15" / "21" / "1.8.0_…": the major version is the first number (or the second for 1.x)
  local v
  v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\.\{0,1\}\([0-9]*\).*/\1 \2/p' | head -1)
  set -- $v
  [[ "${1:-0}" == 1 ]] && return 1
  [[ "${1:-0}" -ge 17 ]]
}

packages=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages+=(postgresql)
have redis-server || packages+=(redis-server)
java_ok || packages+=(default-jre-headless)
have mvn || packages+=(maven)
have python3.11 || packages+=(python3.11)
if [[ ! -x .venv/bin/python ]] && ! python3.11 -m ensurepip --version >/dev/null 2>&1; then
  packages+=(python3.11-venv)
fi
if [[ $WITH_TEST -eq 1 ]]; then have chromium || packages+=(chromium); fi
# promtool (alert-rule tests) from Debian's prometheus package: seconds, where building the Go
# module takes many minutes on two cores
if [[ $WITH_TEST -eq 1 ]]; then have promtool || packages+=(prometheus); fi

stop_debian_services() {
  # Debian's postinst may start its own server on the default port (systemd machines); the stack
  # runs its own per-checkout server there instead, so stop the freshly installed ones.
  local p
  for p in "$@"; do
    case "$p" in
      postgresql)
        have pg_lsclusters && pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1, $2}' |
          while read -r ver name; do $SUDO pg_ctlcluster "$ver" "$name" stop || true; done ;;
      redis-server)
        $SUDO service redis-server stop >/dev/null 2>&1 || true ;;
      prometheus)
        $SUDO service prometheus stop >/dev/null 2>&1 || true ;;
    esac
  done
}

if [[ ${#packages[@]} -gt 0 ]]; then
  have apt-get || die "cannot install ${packages[*]}: no apt-get (install them by hand)"
  APT_LOG="$LOG_DIR/bootstrap-apt.log"
  echo "bootstrap: installing ${packages[*]} (log: $APT_LOG)"
  $SUDO apt-get update -qq >"$APT_LOG" 2>&1 || die "apt-get update failed: see $APT_LOG"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" \
    >>"$APT_LOG" 2>&1 || die "cannot install ${packages[*]}: see $APT_LOG"
  stop_debian_services "${packages[@]}"
fi

# ----- Python virtualenv ----------------------------------------------------------------------
PIP_LOG="$LOG_DIR/bootstrap-pip.log"
STAMP=".venv/.cinemaabyss-deps.sha256"
if [[ ! -x .venv/bin/python ]]; then
  echo "bootstrap: creating .venv"
  python3.11 -m venv .venv >"$PIP_LOG" 2>&1 || die "cannot create .venv: see $PIP_LOG"
fi
# The stamp also covers the install mode, so venvs made before a change of it are redone.
EDITABLE_MODE=compat
want=$( (cat setup.cfg pyproject.toml; echo "$EDITABLE_MODE") | sha256sum | cut -d' ' -f1)
if [[ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]]; then
  echo "bootstrap: installing Python dependencies into .venv (log: $PIP_LOG)"
  # "compat" editable mode puts the checkout on sys.path, so a top-level package added later
  # (a new process) is importable without reinstalling; the default strict finder only
  # knows the packages that existed at install time.
  .venv/bin/python -m pip install -q -e '.[dev]' --config-settings editable_mode="$EDITABLE_MODE" >>"$PIP_LOG" 2>&1 ||
    die "cannot install the Python dependencies: see $PIP_LOG"
  echo "$want" >"$STAMP"
fi
if [[ $WITH_TEST -eq 1 ]]; then scripts/install-stripe-mock.sh >/dev/null || die "cannot install stripe-mock"; fi
if [[ $WITH_TEST -eq 1 ]]; then scripts/install-promtool.sh >/dev/null || die "cannot install promtool"; fi
