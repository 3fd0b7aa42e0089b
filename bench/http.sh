#!/usr/bin/env bash
# Scrape throughput of /metrics: plain HTTP, then TLS + basic auth (exporter-toolkit web config), with
# wrk (Debian package wrk) from 8 keep-alive connections on one thread for DURATION seconds each.
# Shows what the locked-down endpoint costs; bcrypt runs once per (user, password), then is cached.
#
#   bench/http.sh            # DURATION=10
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
for tool in wrk openssl curl; do
  command -v "$tool" >/dev/null || { echo "bench/http.sh: $tool is missing (apt-get install -y wrk openssl curl)" >&2; exit 2; }
done
cargo build --release --quiet --bin authwatch
aw=target/release/authwatch
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$dir"' EXIT
cp tests/golden/cloud-function.log "$dir/app.log"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
hash=$(echo -n bench-password | $aw hash-password --cost 10)
printf 'tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  bench: %s\n' \
  "$dir/tls.crt" "$dir/tls.key" "$hash" > "$dir/web.yml"
auth="Authorization: Basic $(echo -n bench:bench-password | base64)"

run() { # name port url [web config]
  local name=$1 port=$2 url=$3; shift 3
  $aw run --listen "127.0.0.1:$port" --state-dir "$dir/state-$port" "$@" "$dir/app.log" 2>/dev/null &
  for _ in $(seq 100); do curl -ksf -H "$auth" "$url/readyz" >/dev/null && break; sleep 0.1; done
  local bytes; bytes=$(curl -ks -H "$auth" "$url/metrics" | wc -c)
  local out; out=$(wrk -t1 -c8 -d"${DURATION}s" --latency -H "$auth" "$url/metrics")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf '| %s | %s | %s | %s | %s B |\n' "$name" "$rps" "$p50" "$p99" "$bytes"
  kill %%; wait %% 2>/dev/null || true
}
echo "| endpoint | requests/s | p50 | p99 | /metrics size |"
echo "|---|---:|---:|---:|---:|"
run "plain HTTP" 19481 "http://127.0.0.1:19481"
run "TLS + basic auth (bcrypt cost 10, cached)" 19482 "https://127.0.0.1:19482" --web.config.file "$dir/web.yml"
