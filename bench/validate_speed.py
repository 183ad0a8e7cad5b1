"""Cold-process speed of `alignctl validate`, against `python -c pass` and check-jsonschema.

Run by `make bench` (or `python bench/validate_speed.py [POLICY] [--runs N]`). Prints the median
wall time of each command over N runs, interleaved so machine noise hits all of them alike, and
the ratios the foundation issue sets targets for (validate <= 0.5x check-jsonschema).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd[0]} exited {proc.returncode}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("policy", nargs="?", default=str(ROOT / "examples/acme-saas/alignment.yaml"))
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    schema = json.loads(subprocess.run([str(BIN / "alignctl"), "schema", "policy"],
                                       capture_output=True, check=True).stdout)
    with tempfile.TemporaryDirectory() as tmp:
        schema_file = Path(tmp) / "policy.schema.json"
        schema_file.write_text(json.dumps(schema))
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "alignctl validate": [str(BIN / "alignctl"), "validate", args.policy],
            "check-jsonschema": [str(BIN / "check-jsonschema"), "--schemafile", str(schema_file),
                                 args.policy],
        }
        times: dict[str, list[float]] = {k: [] for k in commands}
        for cmd in commands.values():  # warm the page cache once
            timed(cmd)
        for _ in range(args.runs):
            for name, cmd in commands.items():
                times[name].append(timed(cmd))
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    size = Path(args.policy).stat().st_size
    print(f"policy: {args.policy} ({size / 1024:.1f} KB), {args.runs} runs each, median wall time")
    for name, ms in med.items():
        print(f"  {name:<20} {ms:8.1f} ms")
    ratio = med["alignctl validate"] / med["check-jsonschema"]
    print(f"  validate / check-jsonschema = {ratio:.2f}x  (target <= 0.50x)")
    print(f"  validate - python startup   = {med['alignctl validate'] - med['python -c pass']:.1f} ms")


if __name__ == "__main__":
    main()
