#!/usr/bin/env bash
# authwatch against ripgrep (the same regexes), mtail (the same regexes, CLS JSON) and the previous
# build, in one run, on corpora shaped like a login load test's export (bench/gen_loadtest.rs: every
# call's START / END / Report, jscode2session successes, ~4 % failing calls printing their error twice).
#
#   bench/loadtest.sh                 # 2,000,000 text lines + 1,000,000 CLS JSON lines in target/bench
#   PREV=<git rev> RUNS=5 LINES=2000000 bench/loadtest.sh
#
# PREV (default: the newest tag, else HEAD~1) is built in its own worktree under target/bench/prev.
# Needs ripgrep, mtail, curl, python3, /usr/bin/time (Debian packages of those names). rg runs on
# one core (-j1), authwatch with its two threads (it judges lines ahead on the second); rg gets
# `authwatch patterns export --as rg` (ASCII \b, as authwatch matches: rg's best case); mtail gets `--as mtail` and
# reads the first MTAIL_MB of the JSON (it runs at ~1 MB/s).
# Commands on one corpus run in interleaved rounds (bench/rounds.py), RUNS each after a warm-up.
# Prints a Markdown table: median wall seconds, lines/s, MB/s, peak RSS, and the ratios the
# performance issue sets (check >= 1.5x rg, CLS JSON >= 100x mtail, daemon catch-up >= 1.0x rg lines/s).
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${LINES:-2000000}
RUNS=${RUNS:-5}
MTAIL_MB=${MTAIL_MB:-20}
dir=${BENCH_DIR:-target/bench}
for tool in rg mtail curl python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/loadtest.sh: $tool is missing" >&2; exit 2; }
done
PREV=${PREV:-$(git describe --tags --abbrev=0 2>/dev/null || git rev-parse HEAD~1)}
mkdir -p "$dir/progs"
cargo build --release --quiet --bin authwatch --example gen_loadtest
aw=target/release/authwatch
prev="$dir/prev/target/release/authwatch"
if [ ! -x "$prev" ] || [ "$(cat "$dir/prev.rev" 2>/dev/null)" != "$(git rev-parse "$PREV")" ]; then
  rm -rf "$dir/prev"; git worktree prune
  git worktree add --detach "$dir/prev" "$PREV" >/dev/null
  (cd "$dir/prev" && cargo build --release --quiet --bin authwatch)
  git rev-parse "$PREV" > "$dir/prev.rev"
fi
$aw patterns export --as rg > "$dir/loadtest.rg"
$aw patterns export --as mtail > "$dir/progs/authwatch.mtail"
text="$dir/loadtest-text-$LINES.log"
json="$dir/loadtest-cls-$((LINES / 2)).json"
[ -s "$text" ] || target/release/examples/gen_loadtest "$LINES" > "$text"
[ -s "$json" ] || target/release/examples/gen_loadtest $((LINES / 2)) --json > "$json"
head -c $((MTAIL_MB * 1000000)) "$json" | sed '$d' > "$dir/loadtest-cls-head.json"
cat "$text" "$json" > /dev/null

results="$dir/loadtest.tsv"
: > "$results"
# Peak RSS of one run, in KB.
rss() {
  /usr/bin/time -o "$dir/rss" -f '%M' "$@" >/dev/null 2>&1 || { echo "bench/loadtest.sh: '$*' failed" >&2; exit 1; }
  cat "$dir/rss"
}
# The commands on one corpus, timed in interleaved rounds (bench/rounds.py: a burst of host noise
# falls on every command alike), then each run once more for its peak RSS.
measure() { # corpus file runs name 'command' [name 'command' ...]
  local corpus=$1 file=$2 runs=$3; shift 3
  python3 bench/rounds.py "$runs" "$@" > "$dir/rounds" || exit 1
  while IFS=$'\t' read -r name med; do
    local cmd
    while [ $# -gt 0 ]; do
      if [ "$1" = "$name" ]; then cmd=$2; break; fi
      shift 2
    done
    # shellcheck disable=SC2086 # the command's words, as rounds.py split them
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$corpus" "$file" "$med" "$(rss $cmd)" >> "$results"
  done < "$dir/rounds"
}

# Daemon catch-up: `run --from beginning` on the whole file, timed from its start until /metrics has
# counted every line; peak RSS from the kernel (VmHWM). /metrics is asked every 5 ms over one kept-alive
# connection (`bench/catch_up.py`): a curl and an awk per look took ~10 ms of the 2 cores each, which
# the daemon then lacked. Median of RUNS runs.
catch_up() { # name corpus file format
  local name=$1 corpus=$2 file=$3 format=$4
  python3 bench/catch_up.py "$aw" "$file" "$format" "$RUNS" \
    | { read -r sec rss; printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$corpus" "$file" "$sec" "$rss"; } >> "$results"
}

measure text "$text" "$RUNS" \
  "authwatch check" "$aw check --output json $text" \
  "authwatch check --timeline" "$aw check --output json --timeline $text" \
  "previous check" "$prev check --output json $text" \
  "previous check --timeline" "$prev check --output json --timeline $text" \
  "rg -j1 -c" "rg -j1 -c -f $dir/loadtest.rg $text"
catch_up "authwatch run (catch-up)" text "$text" text
measure cls "$json" "$RUNS" \
  "authwatch check" "$aw check --output json $json" \
  "authwatch check --timeline" "$aw check --output json --timeline $json" \
  "previous check" "$prev check --output json $json" \
  "rg -j1 -c" "rg -j1 -c -f $dir/loadtest.rg $json"
catch_up "authwatch run (catch-up)" cls "$json" cls
head_json="$dir/loadtest-cls-head.json"
measure cls-head "$head_json" "$RUNS" "authwatch check" "$aw check --output json $head_json"
measure cls-head "$head_json" 1 "mtail --one_shot" \
  "mtail --one_shot --one_shot_format prometheus --address 127.0.0.1 --port 0 --logtostderr --progs $dir/progs --logs $head_json"

python3 - "$results" "$(git rev-parse --short HEAD)" "$(git rev-parse --short "$PREV")" <<'PY'
import os, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
head, prev = sys.argv[2], sys.argv[3]
lines = {}
def nlines(path):
    if path not in lines:
        lines[path] = sum(1 for _ in open(path, "rb"))
    return lines[path]
rg = {r[1]: float(r[3]) for r in rows if r[0].startswith("rg")}
mt = {r[1]: float(r[3]) for r in rows if r[0].startswith("mtail")}
pv = {(r[1], r[0].replace("previous", "authwatch")): float(r[3]) for r in rows if r[0].startswith("previous")}
print(f"build {head}, previous {prev}\n")
print("| corpus | command | MB | lines | median s | lines/s | MB/s | peak RSS | × rg | × mtail | × previous |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for name, corpus, path, sec, rss in rows:
    sec, size, n = float(sec), os.path.getsize(path), nlines(path)
    x_rg = f"{rg[corpus] / sec:.2f}×" if corpus in rg and not name.startswith("rg") else ""
    x_mt = f"{mt[corpus] / sec:.0f}×" if corpus in mt and not name.startswith("mtail") else ""
    x_pv = f"{pv[(corpus, name)] / sec:.2f}×" if (corpus, name) in pv else ""
    print(f"| {corpus} | {name} | {size/1e6:.0f} | {n:,} | {sec:.3f} | {n/sec/1e6:.2f} M | {size/sec/1e6:.0f} "
          f"| {int(rss)/1024:.1f} MB | {x_rg} | {x_mt} | {x_pv} |")
PY
