#!/usr/bin/env bash
# Installs the Debian packages tocsin runs (Prometheus, Alertmanager, Pushgateway,
# node-exporter, VictoriaMetrics, the Redis/PostgreSQL exporters, Chromium for browser
# tests, Tesseract for the OCR example, mtail as a benchmark peer) when they are missing. Idempotent:
# nothing is touched when every binary is already there. The packages' own
# services are never started; tocsin supervises the binaries itself.
set -euo pipefail

declare -A want=(
  [/usr/bin/prometheus]=prometheus
  [/usr/bin/promtool]=prometheus
  [/usr/bin/prometheus-alertmanager]=prometheus-alertmanager
  [/usr/bin/amtool]=prometheus-alertmanager
  [/usr/bin/prometheus-pushgateway]=prometheus-pushgateway
  [/usr/bin/prometheus-node-exporter]=prometheus-node-exporter
  [/usr/bin/chromium]=chromium
  [/usr/bin/sqlite3]=sqlite3
  [/usr/bin/tmux]=tmux
  # npm ci fetches the console's uPlot at build time (make venv)
  [/usr/bin/npm]=npm
  # peers measured side by side in benchmarks and tests
  [/usr/bin/mtail]=mtail
  [/usr/bin/victoria-metrics]=victoria-metrics
  [/usr/bin/vmalert]=victoria-metrics
  # optional stack components and the examples' real dependencies
  [/usr/bin/prometheus-redis-exporter]=prometheus-redis-exporter
  [/usr/bin/prometheus-postgres-exporter]=prometheus-postgres-exporter
  [/usr/bin/tesseract]=tesseract-ocr
  # the OCR example's (and the tests') queue and cache; redis-cli for its runbooks
  [/usr/bin/redis-server]=redis-server
  [/usr/bin/redis-cli]=redis-tools
  # cairosvg (Markdown reports' PNG charts) loads libcairo
  [/usr/lib/x86_64-linux-gnu/libcairo.so.2]=libcairo2
)
missing=()
for bin in "${!want[@]}"; do
  [ -x "$bin" ] || missing+=("${want[$bin]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
echo "tocsin: installing Debian packages: $pkgs"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "tocsin: need root to run: apt-get install -y $pkgs" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# The Debian packages try to start their services through systemd/invoke-rc.d;
# policy-rc.d 101 keeps them stopped (there is no init system in containers anyway).
policy=/usr/sbin/policy-rc.d
created_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created_policy=1
fi
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
[ -n "$created_policy" ] && $sudo rm -f "$policy"
echo "tocsin: Debian packages ready"
