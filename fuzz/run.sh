#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60) each, from the small seed corpus in fuzz/corpus/,
# writing new inputs to a scratch directory so the committed corpus stays small. Exits non-zero on the
# first crash (libFuzzer leaves the input in fuzz/artifacts/TARGET/). Needs cargo-fuzz
# (`cargo install cargo-fuzz`); on a stable toolchain RUSTC_BOOTSTRAP=1 lets it use -Zsanitizer.
# Writes a summary to fuzz/last-run.txt.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-60}"
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || { echo "fuzz/run.sh: cargo-fuzz is not installed (cargo install cargo-fuzz)" >&2; exit 2; }
cargo fuzz build -O >/dev/null
summary="last-run.txt"
{
  echo "# fuzz/run.sh ${SECONDS_EACH}s per target, $(date -u +%Y-%m-%dT%H:%MZ), $(rustc --version), $(nproc) cores"
} > "$summary"
for target in record classify config; do
  scratch="$(mktemp -d)"
  log="$(mktemp)"
  if cargo fuzz run -O "$target" "$scratch" "corpus/$target" -- \
      -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    runs=$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
    corpus=$(ls "$scratch" | wc -l)
    echo "$target: ok, ${runs} runs in ${SECONDS_EACH}s, coverage ${cov} edges, ${corpus} new inputs (not kept), no crash" | tee -a "$summary"
  else
    echo "$target: CRASH, see fuzz/artifacts/$target/ and:" | tee -a "$summary"
    tail -40 "$log" | tee -a "$summary"
    rm -rf "$scratch"
    exit 1
  fi
  rm -rf "$scratch" "$log"
done
