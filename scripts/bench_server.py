#!/usr/bin/env python3
"""Latency of `nmf server`: from a `didChange` sent to the `publishDiagnostics` of that version,
on a real file of about 2,000 lines, edited as a user types (a character added, then removed).

`ruff server` is measured on the same file in the same way, the two alternating edit by
edit, so that both see the same machine load; the script prints each one's median and p90 and
the ratio of medians. The first edits are discarded (warm-up).

    scripts/bench_server.py [--file F] [--edits N] [--nmf PATH] [--ruff PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import bench  # noqa: E402  (the corpus and ruff, fetched into .bench/ as the CLI benchmark does)

# 2,187 lines that call `.forward(` (the prefilter passes them): parsed and analysed each time.
DEFAULT_FILE = "transformers/models/led/modeling_led.py"


class Server:
    def __init__(self, command: list[str], root: Path):
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.next_id = 1
        self.request("initialize", {"processId": None, "rootUri": root.as_uri(),
                                    "capabilities": {}})
        self.notify("initialized", {})

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def receive(self) -> dict:
        length = 0
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("the server closed its output")
            line = line.strip()
            if not line:
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        message = json.loads(self.process.stdout.read(length))
        if "method" in message and "id" in message:
            # A request from the server (registrations, configuration): answered empty.
            self.send({"id": message["id"], "result": None})
        return message

    def request(self, method: str, params: dict) -> dict:
        self.next_id += 1
        ident = self.next_id
        self.send({"id": ident, "method": method, "params": params})
        while True:
            message = self.receive()
            if message.get("id") == ident and "method" not in message:
                return message

    def notify(self, method: str, params: dict) -> None:
        self.send({"method": method, "params": params})

    def wait_for_version(self, uri: str, version: int) -> dict:
        while True:
            message = self.receive()
            params = message.get("params") or {}
            if (message.get("method") == "textDocument/publishDiagnostics"
                    and params.get("uri") == uri
                    and params.get("version") in (version, None)):
                return message

    def close(self) -> None:
        self.request("shutdown", {})
        self.notify("exit", {})
        self.process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path,
                        help=f"default: {DEFAULT_FILE} of transformers 5.24.0's sdist")
    parser.add_argument("--edits", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=6)
    parser.add_argument("--in-class-header", action="store_true",
                        help="type in the name of the first class instead: the words the "
                             "project searches (for subclasses) see change at each edit")
    parser.add_argument("--nmf", help="default: target/release/nmf, built if needed")
    parser.add_argument("--ruff", help=f"default: ruff {bench.RUFF_VERSION} from PyPI")
    args = parser.parse_args()
    if args.file is None:
        args.file = bench.fetch_corpus("transformers==5.24.0") / DEFAULT_FILE
    args.nmf = args.nmf or str(bench.nmf_binary())
    args.ruff = args.ruff or str(bench.ruff_binary())
    path = args.file.resolve()
    text = path.read_text()
    lines = text.split("\n")
    uri = path.as_uri()
    root = path.parent
    while root != root.parent and not (root / "pyproject.toml").exists() and not (root / "setup.py").exists():
        root = root.parent
    servers = {
        "nmf": Server([args.nmf, "server"], root),
        "ruff": Server([args.ruff, "server"], root),
    }
    for server in servers.values():
        server.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": text}})
        server.wait_for_version(uri, 1)
    times: dict[str, list[float]] = {name: [] for name in servers}
    findings: dict[str, int] = {}
    # Edits in the middle of the file, on a line that is not blank: a space added, then taken
    # away, as typing does.
    if args.in_class_header:
        line = next(i for i, text in enumerate(lines) if text.startswith("class "))
        end = len("class ") + 1
    else:
        line = next(i for i in range(len(lines) // 2, len(lines)) if lines[i].strip())
        end = len(lines[line].encode("utf-16-le")) // 2
    for edit in range(args.edits):
        version = edit + 2
        if edit % 2 == 0:
            change = {"range": {"start": {"line": line, "character": end},
                                "end": {"line": line, "character": end}},
                      "text": "x" if args.in_class_header else " "}
        else:
            change = {"range": {"start": {"line": line, "character": end},
                                "end": {"line": line, "character": end + 1}}, "text": ""}
        for name, server in servers.items():
            started = time.perf_counter()
            server.notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": version}, "contentChanges": [change]})
            published = server.wait_for_version(uri, version)
            elapsed = time.perf_counter() - started
            findings[name] = len(published["params"]["diagnostics"])
            if edit >= args.warmup:
                times[name].append(elapsed * 1000)
    for server in servers.values():
        server.close()
    print(f"{path.name}: {len(lines)} lines, {len(times['nmf'])} edits measured "
          f"(after {args.warmup} discarded), alternating")
    for name, samples in times.items():
        samples.sort()
        p90 = samples[int(len(samples) * 0.9) - 1]
        print(f"  {name:5} median {statistics.median(samples):7.2f} ms   p90 {p90:7.2f} ms   "
              f"({findings[name]} diagnostics)")
    ratio = statistics.median(times["nmf"]) / statistics.median(times["ruff"])
    print(f"  ratio nmf/ruff (medians): {ratio:.2f}")


if __name__ == "__main__":
    main()
