"""Edit-to-diagnostics latency of `alignctl lsp`, through the real server over stdio.

Run by `make bench` (or `python bench/lsp_latency.py [POLICY...] [--runs N]`; by default both
examples: acme-saas, 561 lines, and northwind-smb, 262 lines plus a 64-line include). Starts the
server as an editor does, opens the policy, then sends one-character edits (alternately breaking
the first owner's team id and restoring it) and measures the wall time from sending `didChange`
to receiving the `publishDiagnostics` for that document version. Prints the median, 90th
percentile and worst case against the issue's target (150 ms for a ~300-line policy).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POLICIES = (ROOT / "examples/acme-saas/alignment.yaml",
                    ROOT / "examples/northwind-smb/alignment.yaml")
TARGET_MS = 150.0
TIMEOUT = 30.0
OWNER = re.compile(r"(?m)^[^#\n]*?\bowner:[ \t]*[a-z][a-z0-9_]*")


async def measure(policy: Path, runs: int) -> list[float]:
    from lsprotocol import types as T
    from pygls.lsp.client import LanguageClient
    from pygls.uris import from_fs_path

    client = LanguageClient("lsp-latency-bench", "1")
    arrived: dict[int, float] = {}
    codes: dict[int, set] = {}
    waiting: dict[int, asyncio.Future] = {}

    @client.feature(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def published(params: T.PublishDiagnosticsParams) -> None:
        if params.uri == uri and params.version is not None:
            arrived.setdefault(params.version, time.perf_counter())
            codes.setdefault(params.version, {d.code for d in params.diagnostics})
            fut = waiting.pop(params.version, None)
            if fut is not None and not fut.done():
                fut.set_result(None)

    uri = from_fs_path(str(policy.resolve()))
    text = policy.read_text(encoding="utf-8")
    found = OWNER.search(text)
    if found is None:
        raise SystemExit(f"{policy}: no `owner:` to edit")
    at = found.end()                                    # just after the first owner's team id
    line = text.count("\n", 0, at)
    col = at - (text.rfind("\n", 0, at) + 1)
    await client.start_io(sys.executable, "-m", "alignctl", "lsp")
    try:
        await asyncio.wait_for(client.initialize_async(T.InitializeParams(
            capabilities=T.ClientCapabilities())), TIMEOUT)
        client.initialized(T.InitializedParams())
        loop = asyncio.get_running_loop()
        waiting[1] = loop.create_future()
        client.text_document_did_open(T.DidOpenTextDocumentParams(T.TextDocumentItem(
            uri=uri, language_id="yaml", version=1, text=text)))
        await asyncio.wait_for(waiting[1], TIMEOUT)
        times = []
        for i in range(runs):
            version = i + 2
            broken = i % 2 == 0       # add an `r` (unknown team), then delete it again
            rng = T.Range(start=T.Position(line, col),
                          end=T.Position(line, col + (0 if broken else 1)))
            waiting[version] = loop.create_future()
            sent = time.perf_counter()
            client.text_document_did_change(T.DidChangeTextDocumentParams(
                text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[T.TextDocumentContentChangePartial(
                    range=rng, text="r" if broken else "")]))
            await asyncio.wait_for(waiting[version], TIMEOUT)
            times.append((arrived[version] - sent) * 1000)
            if ("ALN101" in codes[version]) != broken:    # the run really saw this edit
                raise SystemExit(f"version {version}: diagnostics {sorted(codes[version])} do "
                                 f"not match the edit ({'broken' if broken else 'restored'})")
            await asyncio.sleep(0.05)         # a typist's pause: each edit gets its own run
        await asyncio.wait_for(client.shutdown_async(None), TIMEOUT)
        client.exit(None)
    finally:
        await client.stop()
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("policies", nargs="*", default=[str(p) for p in DEFAULT_POLICIES])
    ap.add_argument("--runs", type=int, default=40)
    args = ap.parse_args()
    for policy in args.policies:
        report(Path(policy), args.runs)


def report(policy: Path, runs: int) -> None:
    times = asyncio.run(measure(policy, runs))
    times.sort()
    med, p90, worst = statistics.median(times), times[int(0.9 * (len(times) - 1))], times[-1]
    lines = policy.read_text(encoding="utf-8").count("\n")
    print(f"lsp: {policy} ({lines} lines), {len(times)} one-character edits, "
          "didChange -> publishDiagnostics")
    print(f"  median {med:7.1f} ms   p90 {p90:7.1f} ms   worst {worst:7.1f} ms   "
          f"(target <= {TARGET_MS:.0f} ms: {'met' if p90 <= TARGET_MS else 'NOT met'} at p90)")


if __name__ == "__main__":
    main()
