#!/usr/bin/env python3
"""Times commands in interleaved rounds: each round runs every command once (the order rotated
from round to round), so a burst of noise from the host falls on all of them alike and their
ratios hold; hyperfine runs one command's runs back to back, and a burst then lands on one command
only (seen here: one run of `check --timeline` at 0.27 s where it takes 0.23 s, its ratio to
ripgrep moved by 0.2).

    bench/rounds.py RUNS NAME 'COMMAND …' [NAME 'COMMAND …' …]

Each command runs once to warm up, then RUNS times; its output goes to /dev/null. Prints one line a
command: NAME, a tab, the median wall seconds. A command that fails stops the run (exit 1).
"""
import shlex
import statistics
import subprocess
import sys
import time


def main() -> int:
    runs = int(sys.argv[1])
    pairs = list(zip(sys.argv[2::2], sys.argv[3::2]))
    commands = [(name, shlex.split(cmd)) for name, cmd in pairs]
    times = {name: [] for name, _ in commands}

    def once(name, argv):
        start = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        took = time.perf_counter() - start
        if done.returncode != 0:
            print(f"bench/rounds.py: {name!r} exited {done.returncode}: {shlex.join(argv)}", file=sys.stderr)
            sys.exit(1)
        return took

    for name, argv in commands:
        once(name, argv)
    for r in range(runs):
        k = r % len(commands)
        for name, argv in commands[k:] + commands[:k]:
            times[name].append(once(name, argv))
    for name, _ in commands:
        print(f"{name}\t{statistics.median(times[name])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
