#!/usr/bin/env bash
# The tests run a real redis-server and a real PostgreSQL server. Install redis-server when it is
# missing and this runs as root with apt-get; otherwise say exactly what to install.
set -euo pipefail

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "redis-server is missing: installing it with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends redis-server >/dev/null
    # The package starts a system service; the tests start their own servers.
    (service redis-server stop || true) >/dev/null 2>&1
  else
    echo "redis-server is required by the tests. Install it, then run make test again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y redis-server" >&2
    exit 1
  fi
fi

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && ! command -v postgres >/dev/null 2>&1; then
  echo "PostgreSQL server binaries are required by the tests. Install them, then run make test again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y postgresql" >&2
  exit 1
fi
