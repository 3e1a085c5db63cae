#!/bin/sh
# Writes the scrape key to a file only this user reads (Prometheus takes credentials from a file, not from the
# environment), puts the API's address into the configuration, then runs Prometheus.
set -eu
if [ -z "${GRADYARD_METRICS_KEY:-}" ]; then
    echo "GRADYARD_METRICS_KEY is empty: make an admin key for Prometheus and put it in .env:" >&2
    echo "  docker compose exec api gradyard keys create --user prometheus --admin" >&2
    exit 1
fi
run=/run/gradyard-prometheus
umask 077
printf '%s' "$GRADYARD_METRICS_KEY" >"$run/metrics-key"
sed "s|@TARGET@|${GRADYARD_METRICS_TARGET:-api:8000}|" /etc/gradyard-prometheus/prometheus.yml >"$run/prometheus.yml"
exec prometheus --config.file="$run/prometheus.yml" --storage.tsdb.path=/var/lib/gradyard-prometheus \
    --web.listen-address="${PROMETHEUS_LISTEN:-0.0.0.0:9090}" "$@"
