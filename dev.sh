#!/usr/bin/env bash
# The README's two commands:
#   ./dev.sh start   install everything, then serve the app on SQLite with the policy pack and
#                    the small demo data loaded (prints the address and a demo login)
#   ./dev.sh test    install everything, then run the whole test suite in parallel
# Set CRM_TEST_DATABASE_URL=postgresql+psycopg://user@host:port/name to test on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

ensure_venv() {
  if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
  fi
  # reinstall only when pyproject.toml changed
  local stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
  if [ ! -f "$stamp" ]; then
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e '.[dev]'
    rm -f .venv/.installed-*
    touch "$stamp"
  fi
}

ensure_browser() {
  # the browser tests drive Debian's chromium (Playwright cannot download browsers here)
  local need=()
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
  command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
    else
      echo "please install: ${need[*]} (e.g. sudo apt-get install ${need[*]})" >&2
      exit 1
    fi
  fi
}

case "${1:-start}" in
  start)
    ensure_venv
    exec .venv/bin/crm start "${@:2}"
    ;;
  test)
    ensure_venv
    ensure_browser
    exec .venv/bin/pytest -n auto --dist loadfile -q "${@:2}"
    ;;
  *)
    echo "usage: ./dev.sh start | test" >&2
    exit 2
    ;;
esac
