#!/usr/bin/env python3
"""The daemon catching up on a file: `authwatch run --from beginning FILE`, timed from its start until
/metrics has counted every line of FILE (the sum of authwatch_lines_total). Prints the median seconds
of RUNS runs and the largest peak RSS (KB, the kernel's VmHWM).

    bench/catch_up.py BINARY FILE FORMAT RUNS

/metrics is asked every 5 ms over one kept-alive connection, so the looking costs the 2 cores little.
"""
import http.client
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def counted(conn):
    conn.request("GET", "/metrics")
    body = conn.getresponse().read().decode()
    return sum(float(l.split()[-1]) for l in body.splitlines() if l.startswith("authwatch_lines_total{"))


def once(binary, path, form, lines):
    port = free_port()
    with tempfile.TemporaryDirectory() as state:
        t0 = time.monotonic()
        p = subprocess.Popen(
            [binary, "run", "--from", "beginning", "--format", form, "--state-dir", state,
             "--listen", f"127.0.0.1:{port}", path],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        conn = None
        try:
            while True:
                if p.poll() is not None:
                    sys.exit(f"catch_up.py: the daemon exited ({p.returncode})")
                try:
                    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    if counted(conn) >= lines:
                        break
                except (OSError, http.client.HTTPException):
                    conn = None
                time.sleep(0.005)
            sec = time.monotonic() - t0
            with open(f"/proc/{p.pid}/status") as f:
                rss = next(int(l.split()[1]) for l in f if l.startswith("VmHWM"))
        finally:
            p.terminate()
            p.wait()
    return sec, rss


def main():
    binary, path, form, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with open(path, "rb") as f:
        lines = sum(1 for _ in f)
    results = [once(binary, path, form, lines) for _ in range(runs)]
    print(f"{statistics.median(s for s, _ in results):.3f} {max(r for _, r in results)}")


if __name__ == "__main__":
    main()
