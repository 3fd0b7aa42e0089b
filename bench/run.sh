#!/usr/bin/env bash
# Throughput of `authwatch check` beside mtail --one_shot and rg -c on the same corpora, in one run.
#
#   bench/run.sh            # 200 MB text + 200 MB CLS JSON corpora in target/bench
#   MB=50 RUNS=3 bench/run.sh
#
# Needs: mtail, ripgrep, hyperfine (Debian packages of those names), /usr/bin/time (package time),
# python3. The corpora come from bench/gen_corpus.rs (deterministic: same seed, same bytes); mtail gets
# `authwatch patterns export --as mtail` (one counter per pattern, the union of its regexes) and rg gets
# `--as rg` (every regex, one per line), so all three run the same regexes over the same bytes.
# authwatch and rg run single-threaded (rg -j1); mtail runs as shipped. Files are read once first so
# every tool reads from the page cache. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${MB:-200}
RUNS=${RUNS:-5}
MTAIL_RUNS=${MTAIL_RUNS:-1}
SEED=${SEED:-1}
dir=${BENCH_DIR:-target/bench}
for tool in mtail rg hyperfine python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/run.sh: $tool is missing (apt-get install -y mtail ripgrep hyperfine time)" >&2; exit 2; }
done
cargo build --release --quiet --bin authwatch --example gen_corpus
aw=target/release/authwatch
mkdir -p "$dir/progs"
$aw patterns export --as mtail > "$dir/progs/authwatch.mtail"
# The export writes word boundaries as the ASCII ones authwatch matches with (`(?-u:\b)`): rg's
# best case with the same regexes.
$aw patterns export --as rg > "$dir/authwatch.rg"
for fmt in text cls; do
  f="$dir/corpus-$fmt-${MB}MB-seed$SEED.log"
  [ -s "$f" ] || target/release/examples/gen_corpus --format "$fmt" --mb "$MB" --seed "$SEED" > "$f"
  cat "$f" > /dev/null
done

results="$dir/results.tsv"
: > "$results"
measure() { # name corpus-format file runs command...
  local name=$1 fmt=$2 file=$3 runs=$4; shift 4
  hyperfine --style none --warmup $(( runs > 1 ? 1 : 0 )) --runs "$runs" --export-json "$dir/h.json" "$*" >/dev/null 2>&1 \
    || { echo "bench/run.sh: '$*' failed" >&2; exit 1; }
  local rss
  rss=$( (/usr/bin/time -o "$dir/rss" -f '%M' "$@" >/dev/null 2>&1); cat "$dir/rss")
  python3 - "$dir/h.json" "$name" "$fmt" "$file" "$rss" >> "$results" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))["results"][0]
name, fmt, path, rss = sys.argv[2:6]
size = __import__("os").path.getsize(path)
lines = sum(1 for _ in open(path, "rb"))
print("\t".join(map(str, [name, fmt, size, lines, h["median"], h["min"], rss])))
PY
}

for fmt in text cls; do
  f="$dir/corpus-$fmt-${MB}MB-seed$SEED.log"
  measure authwatch "$fmt" "$f" "$RUNS" $aw check --output json "$f"
  measure "rg -c" "$fmt" "$f" "$RUNS" rg -j1 -c -f "$dir/authwatch.rg" "$f"
  measure "mtail --one_shot" "$fmt" "$f" "$MTAIL_RUNS" mtail --one_shot --one_shot_format prometheus --address 127.0.0.1 --port 0 --logtostderr --progs "$dir/progs" --logs "$f"
done

python3 - "$results" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
base = {r[1]: int(r[3]) / float(r[4]) for r in rows if r[0].startswith("mtail")}
rg = {}
for r in rows:
    if r[0].startswith("rg"):
        rg[r[1]] = max(rg.get(r[1], 0), int(r[2]) / float(r[4]))
print("| corpus | tool | size | lines | median s | lines/s | MB/s | peak RSS | × mtail lines/s | × best rg MB/s |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for name, fmt, size, lines, med, mn, rss in rows:
    size, lines, med = int(size), int(lines), float(med)
    lps, mbs = lines / med, size / med / 1e6
    print(f"| {fmt} | {name} | {size/1e6:.0f} MB | {lines:,} | {med:.3f} | {lps:,.0f} | {mbs:,.0f} | {int(rss)/1024:.1f} MB "
          f"| {lps/base[fmt]:.1f}× | {size/med/rg[fmt]:.2f}× |")
PY
