#!/usr/bin/env python3
"""Schema-driven fuzzing of `paravox serve` with schemathesis: no request may get a 5xx.

Starts `paravox serve` (the real default models: Whisper, vocal events, emotion) in a child
process on a free loopback port, loads its /openapi.json and sends, for every operation:

1. what `schemathesis run` generates (coverage and fuzzing phases, valid and invalid
   requests, random binary as audio), checked for: no 5xx, a documented status and
   content type, a body that matches the documented schema, 4xx for invalid requests;
2. real audio (clips from ../shared/data, the demo, a tone) with generated options, so
   that the 200 path runs with whatever query options and form fields schemathesis makes
   (the same checks, less the one for invalid data, since the audio is swapped in);
3. the routes outside the schema (`/`, `/openapi.json`, `/static/...`) with generated paths.

It prints one row per operation (requests, status codes seen, 5xx, requests that hung past
--timeout), then the other check failures, and exits 1 on any 5xx or hang.

    python benchmarks/serve_fuzz.py                        # ~50 examples per operation
    python benchmarks/serve_fuzz.py --max-examples 200 --audio-examples 30 --seed 1

Extra arguments after `--` go to `paravox serve` unchanged. Needs schemathesis
(`pip install schemathesis`; the `dev` extra has it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "tests"))

#: schemathesis checks every answer must pass (negative_data_rejection only where the
#: request is sent as generated: the audio pass swaps a valid recording in).
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance"]
GENERATED_CHECKS = [*CHECKS, "negative_data_rejection"]
#: real clips from the data pack (short, two languages, a laugh and a sigh) when it is there
DATA_CLIPS = ["nvasr/dev/nonverbalspeech38k/sigh/2_sigh.flac", "nvasr/dev/nonverbalspeech38k/laughing/1_laughing.flac"]


def require_schemathesis():
    try:
        import schemathesis
    except ImportError:
        sys.exit("benchmarks/serve_fuzz.py needs schemathesis: pip install schemathesis  (or: pip install -e '.[dev]')")
    return schemathesis


class Tally:
    """What each operation got back, filled by schemathesis hooks and the extra passes."""

    def __init__(self) -> None:
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.check_failures: Counter = Counter()  # "who: what" -> count
        self.hangs: Counter = Counter()
        self.examples: dict[str, list[str]] = defaultdict(list)  # a few failing requests per operation

    def record(self, label: str, status: int, note: str = "") -> None:
        self.statuses[label][status] += 1
        if status >= 500 and len(self.examples[label]) < 3:
            self.examples[label].append(f"{status} {note}"[:300])

    def table(self) -> str:
        rows = ["| operation | requests | status codes seen | 5xx | hung |", "|---|---:|---|---:|---:|"]
        for label in sorted(self.statuses.keys() | self.hangs.keys()):
            seen = self.statuses[label]
            codes = ", ".join(f"{code}×{n}" for code, n in sorted(seen.items()))
            fivexx = sum(n for code, n in seen.items() if code >= 500)
            rows.append(f"| {label} | {sum(seen.values()) + self.hangs[label]} | {codes} | {fivexx} | {self.hangs[label]} |")
        return "\n".join(rows)

    def requests(self) -> int:
        return sum(sum(seen.values()) for seen in self.statuses.values()) + sum(self.hangs.values())

    def server_errors(self) -> int:
        return sum(n for seen in self.statuses.values() for code, n in seen.items() if code >= 500)


def install_hooks(schemathesis, tally: Tally) -> None:
    """Count every response and every request that got none, whoever sends it."""

    @schemathesis.hook
    def after_call(context, case, response):
        tally.record(case.operation.label, response.status_code, f"{case.method} {case.formatted_path}: {response.text[:200]}")

    @schemathesis.hook
    def after_network_error(context, case, request):
        tally.hangs[case.operation.label] += 1


def clips() -> list[tuple[str, bytes]]:
    """(name, encoded bytes): the demo's first 7 s (speech, a laugh), data-pack clips as
    FLAC, a 1-s tone (no speech)."""
    from paravox.audio import load_audio
    from paravox.testing import tone, wav_bytes

    out = [("demo-7s.wav", wav_bytes(load_audio(ROOT / "samples" / "demo.flac").samples[: 7 * 16000]))]
    out += [(Path(rel).name, (DATA / rel).read_bytes()) for rel in DATA_CLIPS if (DATA / rel).exists()]
    out.append(("tone.wav", wav_bytes(tone(440, seconds=1.0))))
    return out


def run_schemathesis(url: str, args, paths: list[str], report: Path, tally: Tally) -> int:
    """`schemathesis run` on every operation; its report goes to stdout, its failures to ``tally``."""
    from schemathesis.cli import schemathesis as cli

    config = report.with_name("schemathesis.toml")
    config.write_text("[cache]\nenabled = false\n")  # no .schemathesis/ left in the working directory
    argv = [
        "--config-file", str(config),
        "run", f"{url}/openapi.json",
        "--checks", ",".join(GENERATED_CHECKS),
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(args.max_examples),
        "--seed", str(args.seed),
        "--workers", "1",
        "--continue-on-failure",  # count every 5xx, not only the first per operation
        "--request-timeout", str(args.timeout),
        "--suppress-health-check", "all",
        "--report", "json", "--report-json-path", str(report),
    ]
    if any(path.startswith("/v1/stream") for path in paths):  # a WebSocket: nothing for HTTP fuzzing
        argv += ["--exclude-path-regex", "^/v1/stream"]
    try:
        cli.main(argv, standalone_mode=False)
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    if report.exists():
        for failure in json.loads(report.read_text())["failures"]:
            if failure["code"] != "ST101":  # server errors are counted from the statuses
                where = ", ".join(failure["operations"])
                tally.check_failures[f"schemathesis run: {failure['code']} {failure['title']} ({where})"] += failure["count"]
    return status


def run_audio_pass(url: str, args, doc: dict, audio: list[tuple[str, bytes]], tally: Tally) -> None:
    """Real recordings with generated options, and one plain request per clip, to every
    operation that takes audio."""
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis import strategies as st
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import load_all_checks
    from schemathesis.core.failures import FailureGroup

    load_all_checks()
    from schemathesis.checks import CHECKS as registered

    checks = registered.get_by_names(CHECKS)
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    for path, methods in doc["paths"].items():
        if path.startswith("/v1/stream"):
            continue
        for method, spec in methods.items():
            content = spec.get("requestBody", {}).get("content", {})
            if not content:
                continue
            op = schema[path][method.upper()]
            raw_body = "application/octet-stream" in content
            formats = content.get("multipart/form-data", {}).get("schema", {}).get("properties", {}).get("response_format", {}).get("enum", [None])

            def send(case):
                try:
                    response = case.call(base_url=url, timeout=args.timeout)
                except requests.RequestException:
                    return  # counted by the after_network_error hook
                try:
                    case.validate_response(response, checks=checks)
                except FailureGroup as exc:
                    for failure in exc.exceptions:
                        if failure.code != "ST101":  # server errors are counted from the statuses
                            tally.check_failures[f"real audio: {failure.code} {failure.title} ({case.operation.label})"] += 1

            for i, (name, data) in enumerate(audio):  # the 200 path, plainly
                if raw_body:
                    send(op.Case(body=data, media_type="application/octet-stream", query={"name": name}))
                fmt = formats[i % len(formats)]
                fields = {"file": data} if fmt is None else {"file": data, "response_format": fmt}
                send(op.Case(body=fields, media_type="multipart/form-data"))

            def swap_audio(case, clip: bytes):
                if isinstance(case.body, dict):
                    case.body = {**case.body, "file": clip}
                elif isinstance(case.body, (bytes, str)) or case.body is None:
                    case.body = clip
                return case

            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @seed(args.seed)
                @settings(max_examples=args.audio_examples, deadline=None, database=None, phases=[Phase.generate],
                          suppress_health_check=list(HealthCheck))
                @given(case=op.as_strategy(mode), clip=st.sampled_from([data for _, data in audio]))
                def generated(case, clip):
                    send(swap_audio(case, clip))

                try:
                    generated()
                except Unsatisfiable:  # nothing invalid to make (a raw body and no parameters)
                    pass


def run_routes_outside_the_schema(url: str, args, tally: Tally) -> None:
    """The web page, the document and the static files, with generated paths under /static/."""
    from urllib.parse import quote

    import httpx
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis import strategies as st

    with httpx.Client(base_url=url, timeout=args.timeout) as c:
        for path in ("/", "/openapi.json", "/static/app.js", "/static/style.css", "/static", "/static/"):
            tally.record(f"GET {path}", c.get(path).status_code, path)

        @seed(args.seed)
        @settings(max_examples=args.max_examples, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(st.text(min_size=1, max_size=300) | st.sampled_from(["..", "../../etc/passwd", "%00", "a\x00b", "app.js/..", "." * 300]))
        def static_paths(name):
            path = "/static/" + quote(name, safe="/.%")
            try:
                status = c.get(path).status_code
            except httpx.TimeoutException:
                tally.hangs["GET /static/{path}"] += 1
                return
            tally.record("GET /static/{path}", status, path)

        static_paths()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max-examples", type=int, default=50, help="generated requests per operation and mode (default 50)")
    ap.add_argument("--audio-examples", type=int, default=10,
                    help="requests with real audio per audio operation and mode, besides one per clip (default 10)")
    ap.add_argument("--seed", type=int, default=0, help="schemathesis/hypothesis seed (default 0)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds before a request counts as hung (default 120)")
    ap.add_argument("serve_args", nargs="*", help="more `paravox serve` arguments (after --)")
    args = ap.parse_args()
    schemathesis = require_schemathesis()

    import httpx
    from serve_helpers import serve_in_subprocess

    tally = Tally()
    install_hooks(schemathesis, tally)
    audio = clips()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, serve_in_subprocess(*args.serve_args, log=Path(tmp) / "serve.log") as (url, proc):
        started = time.monotonic() - t0
        models = httpx.get(f"{url}/healthz", timeout=30).json()["models"]
        doc = httpx.get(f"{url}/openapi.json", timeout=30).json()
        print(f"== paravox serve {' '.join(args.serve_args) or '(defaults)'}: models {models}, ready in {started:.0f} s")
        print(f"== 1/3 schemathesis run: {', '.join(doc['paths'])}")
        cli_status = run_schemathesis(url, args, list(doc["paths"]), Path(tmp) / "schemathesis.json", tally)
        print(f"== 2/3 real audio ({', '.join(name for name, _ in audio)}) with generated options")
        run_audio_pass(url, args, doc, audio, tally)
        print("== 3/3 routes outside the schema")
        run_routes_outside_the_schema(url, args, tally)
        alive = proc.poll() is None
        log = (Path(tmp) / "serve.log").read_text(errors="replace")
    wall = time.monotonic() - t0

    print()
    print(f"schemathesis {schemathesis.__version__}, seed {args.seed}, --max-examples {args.max_examples}, "
          f"--audio-examples {args.audio_examples}, server {' '.join(args.serve_args) or 'defaults'}, {wall:.0f} s in all")
    print()
    print(tally.table())
    print()
    errors, hangs = tally.server_errors(), sum(tally.hangs.values())
    print(f"requests: {tally.requests()}; 5xx: {errors}; hung past {args.timeout:g} s: {hangs}; "
          f"server still running: {'yes' if alive else 'NO'}")
    for label, notes in tally.examples.items():
        for note in notes:
            print(f"  {label}: {note}")
    print("other check failures:" if tally.check_failures else "other check failures: none")
    for what, n in sorted(tally.check_failures.items()):
        print(f"  {n} x {what}")
    if cli_status and not tally.check_failures and not errors:
        print(f"  schemathesis run exited with {cli_status}: see its report above")
    if errors or hangs or not alive:
        tail = "\n".join(line for line in log.splitlines() if line.strip())[-3000:]
        print(f"\nserver log (tail):\n{tail}")
        return 1
    return 0

if __name__ == "__main__":
    sys.exit(main())
