#!/usr/bin/env python3
"""The service under load: uploads and live streams at once, against the real `paravox serve`.

Starts `python -m paravox.cli.main serve` in a child process on loopback with its own
defaults (Whisper base, the default event and emotion models, the concurrency it picks for
the machine's cores), then, at the same time:

* UPLOADS uploads (default 200), CLIENTS at a time (default 8), to POST /v1/analyze as
  multipart, each a real clip of 2-10 s from ../shared/data sent as it is stored (FLAC/WAV).
  An upload refused with 503 waits the Retry-After the server gives and is sent again, as a
  real client would; those 503s are counted apart.
* STREAMS WebSocket clients (default 4) on /v1/stream, each streaming real recordings one
  after another at real-time pace (16-bit PCM frames of 0.1 s, each sent when the clock
  reaches it) for as long as the uploads run; the recording under way when the uploads end is
  finished. A stream refused with close code 1013 is tried again a second later, counted apart.

The server's resident memory (VmRSS) is read every second; the run reports it idle after
start-up, at the start of the load (after one warm-up upload), its peak, its end, its median
in each fifth of the run, and the least-squares slope over the second half of the run in MB
per minute ("memory flat over the run" as a figure; runs under 2 minutes give none). The
machine's load averages are read before and after, and /proc/stat says how many cores other
processes used during the run (the reference machine is shared).

Clips (fixed; the seed only draws the subsets and the order):

* uploads: 24 CASIA clips of 2-10 s (Mandarin), 16 RAVDESS (English, 2.4 s), 8 TAVA of 2-10 s
  (English), and every real (not synthetic) `nvasr/dev` clip of 2-10 s (19: Mandarin and
  English, NonVerbalSpeech-38K and SMIIP-NV demos), drawn with ``random.Random(seed)`` from
  the manifests sorted by id; the uploads go through them in one seeded order, round after round;
* streams: samples/demo.flac (21.4 s, English) and the real `nvasr/dev` clips over 10 s (six,
  12.6-27.8 s, Mandarin); stream client j starts at the j-th of them in a seeded order.

Measured: per upload, the time from the first attempt to its 200 (waits for Retry-After
included); per stream recording, the first-partial latency (from sending the frame that holds
the recording's first speech, by the Silero VAD read here, to receiving the first partial),
the partial latency (from sending the frame that completes the audio up to a partial's
``end`` to receiving that partial) and the final latency (from sending {"type": "end"} to
receiving ``done``).

Exit status 1 on a failure: a 5xx other than 503, any other unexpected status or a transport
error on an upload, a stream closed with 1011 (or any code other than 1000 and 1013), a stream
without ``done`` or whose ``done`` does not cover the audio sent, an upload or a stream message
not answered within --timeout seconds (a hang), a server that died, a traceback in its log, or
slots still taken once the run is over (/healthz).

    python benchmarks/serve_load.py                        # 200 uploads 8 at a time, 4 streams
    python benchmarks/serve_load.py --quick                # 20 uploads, 2 streams: a smoke check
    python benchmarks/serve_load.py --out benchmarks/results/serve_load.json
    python benchmarks/serve_load.py --uploads 30 --streams 0 --queue 2   # fewer places than clients: 503s
    python benchmarks/serve_load.py -- --timeout 120       # arguments after -- go to paravox serve
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "tests"))

from serve_helpers import serve_in_subprocess  # noqa: E402

from paravox.testing.procfs import memory_mb  # noqa: E402

#: Upload clips: (set, how many, language field or fixed language); durations 2-10 s.
UPLOAD_SETS = (("emotion/casia", 24), ("emotion/ravdess", 16), ("emotion/tava", 8), ("nvasr/dev", None))
MIN_CLIP_S, MAX_CLIP_S = 2.0, 10.0
LANGUAGE = {"emotion/casia": "zh", "emotion/ravdess": "en", "emotion/tava": "en"}
#: Stream recordings: real nvasr/dev clips longer than this, plus samples/demo.flac.
MIN_RECORDING_S = 10.0
#: Seconds a client waits before trying a refused stream (1013) again.
STREAM_RETRY_S = 1.0


# ---- clips ---------------------------------------------------------------------------------
@dataclass
class Clip:
    id: str
    set: str
    path: Path
    duration: float
    language: str

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "set": self.set, "audio": os.path.relpath(self.path, ROOT),
                "duration": self.duration, "language": self.language}


def _manifest(data: Path, name: str) -> list[dict]:
    rows = [json.loads(line) for line in (data / name / "manifest.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return sorted(rows, key=lambda r: r["id"])


def _clip(data: Path, name: str, row: dict) -> Clip:
    return Clip(row["id"], name, data / name / row["audio"], float(row["duration"]), row.get("language") or LANGUAGE[name])


def upload_clips(data: Path, seed: int) -> list[Clip]:
    """The upload clips, in the order they are sent (round after round)."""
    rng = random.Random(seed)
    clips: list[Clip] = []
    for name, count in UPLOAD_SETS:
        rows = [r for r in _manifest(data, name)
                if MIN_CLIP_S <= r["duration"] <= MAX_CLIP_S and not r.get("synthetic", False)]
        chosen = rows if count is None else rng.sample(rows, count)
        clips += [_clip(data, name, r) for r in chosen]
    rng.shuffle(clips)
    return clips


def stream_recordings(data: Path, seed: int) -> list[Clip]:
    rows = [r for r in _manifest(data, "nvasr/dev") if r["duration"] > MIN_RECORDING_S and not r.get("synthetic", False)]
    demo = ROOT / "samples" / "demo.flac"
    recordings = [Clip("demo", "samples", demo, 21.37, "en")] + [_clip(data, "nvasr/dev", r) for r in rows]
    random.Random(seed).shuffle(recordings)
    return recordings


@dataclass
class Recording:
    clip: Clip
    pcm: bytes  # 16-bit LE mono at 16 kHz
    seconds: float
    first_speech: float | None  # seconds; Silero VAD, its default options without padding


def load_recording(clip: Clip) -> Recording:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    from paravox.audio import load_audio

    samples = load_audio(clip.path).samples
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    chunks = get_speech_timestamps(samples, VadOptions(speech_pad_ms=0))
    first = chunks[0]["start"] / 16000 if chunks else None
    return Recording(clip, pcm, len(samples) / 16000, first)


# ---- measuring the machine and the server -----------------------------------------------
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_cpu_s(pid: int | str) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return math.nan
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _machine_cpu_s() -> dict[str, float]:
    """CPU seconds of the whole machine since boot: busy (user, nice, system, irq, softirq), steal, all."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    return {"busy": (user + nice + system + irq + softirq) / CLK_TCK, "steal": steal / CLK_TCK,
            "all": (user + nice + system + idle + iowait + irq + softirq + steal) / CLK_TCK}


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average: " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


class RssSampler(threading.Thread):
    """Reads the server's VmRSS every ``every`` seconds (and the machine's 1-min load average)."""

    def __init__(self, pid: int, every: float = 1.0) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, float, float]] = []  # (perf_counter, VmRSS MB, loadavg 1 min)
        self.parts: list[tuple[float, float]] = []  # (RssAnon, RssFile) MB, beside each sample
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            mb = memory_mb(self.pid, ("VmRSS", "RssAnon", "RssFile"))
            if "VmRSS" in mb:
                load1 = float(Path("/proc/loadavg").read_text().split()[0])
                self.samples.append((time.perf_counter(), mb["VmRSS"], load1))
                self.parts.append((mb.get("RssAnon", math.nan), mb.get("RssFile", math.nan)))
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join()


# ---- uploads -------------------------------------------------------------------------------
@dataclass
class UploadResult:
    index: int
    clip: str
    duration: float
    status: int | None  # the final status (None: a transport error)
    attempts: list[tuple[int | None, float]] = field(default_factory=list)  # (status, seconds) per attempt
    started: float = 0.0  # seconds since the load began
    seconds: float = 0.0  # first attempt to final answer, retry waits included
    error: str | None = None


def run_uploads(url: str, clips: list[Clip], n: int, clients: int, t0: float, *, max_retries: int,
                timeout: float) -> list[UploadResult]:
    blobs = {c.id: c.path.read_bytes() for c in clips}
    jobs = iter(range(n))
    lock = threading.Lock()
    results: list[UploadResult] = []

    def client() -> None:
        with httpx.Client(base_url=url, timeout=timeout) as http:
            while True:
                with lock:
                    i = next(jobs, None)
                if i is None:
                    return
                clip = clips[i % len(clips)]
                res = UploadResult(i, clip.id, clip.duration, None, started=time.perf_counter() - t0)
                first = time.perf_counter()
                for _ in range(max_retries + 1):
                    sent = time.perf_counter()
                    try:
                        r = http.post("/v1/analyze", files={"file": (clip.path.name, blobs[clip.id])})
                    except httpx.HTTPError as exc:
                        res.attempts.append((None, time.perf_counter() - sent))
                        res.error = f"{type(exc).__name__}: {exc}"
                        break
                    res.attempts.append((r.status_code, time.perf_counter() - sent))
                    res.status = r.status_code
                    if r.status_code == 200:
                        doc = r.json()
                        if "segments" not in doc or abs(doc.get("duration", -1) - clip.duration) > 0.05:
                            res.error = f"unexpected analysis: duration {doc.get('duration')} for a {clip.duration} s clip"
                        break
                    if r.status_code != 503:
                        res.error = r.text[:300]
                        break
                    time.sleep(float(r.headers.get("retry-after", "1")))
                else:
                    res.error = f"still 503 after {max_retries} retries"
                res.seconds = time.perf_counter() - first
                with lock:
                    results.append(res)

    with ThreadPoolExecutor(clients) as ex:
        for f in [ex.submit(client) for _ in range(clients)]:
            f.result()
    return sorted(results, key=lambda r: r.index)


# ---- streams -------------------------------------------------------------------------------
@dataclass
class StreamResult:
    client: int
    recording: str
    seconds: float  # audio duration
    started: float  # seconds since the load began
    close_code: int | None = None
    refused: int = 0  # times refused with 1013 before it was served
    first_partial: float | None = None
    partial_latencies: list[float] = field(default_factory=list)
    final: float | None = None
    messages: dict[str, int] = field(default_factory=dict)
    late_frames: int = 0  # frames sent more than 50 ms after their time (the client's own lag)
    done_duration: float | None = None
    error: str | None = None


def _stream_attempt(url: str, frames: list[bytes], frame_s: float, timeout: float, res: StreamResult
                    ) -> tuple[int | None, list[tuple[float, dict]], list[float], float | None]:
    """One connection: ``frames`` sent at real-time pace, then end; (close code, (time, message)
    received, send time of each frame, time the end was sent or None)."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    received: list[tuple[float, dict]] = []
    sent: list[float] = []
    end_sent = None
    closed = threading.Event()
    with connect(url, max_size=None, open_timeout=60, close_timeout=10) as ws:

        def receive() -> None:
            try:
                while True:
                    message = ws.recv(timeout=timeout)
                    received.append((time.perf_counter(), json.loads(message)))
            except ConnectionClosed:
                pass
            except TimeoutError:
                received.append((time.perf_counter(), {"type": "client_timeout"}))
            finally:
                closed.set()

        reader = threading.Thread(target=receive, daemon=True)
        reader.start()
        start = time.perf_counter()
        try:
            for i, frame in enumerate(frames):
                if closed.is_set():
                    break
                delay = start + i * frame_s - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                elif delay < -0.05:
                    res.late_frames += 1
                ws.send(frame)
                sent.append(time.perf_counter())
            else:
                ws.send(json.dumps({"type": "end"}))
                end_sent = time.perf_counter()
        except ConnectionClosed:
            pass
        closed.wait(timeout)
        if not closed.is_set():
            res.error = f"no close within {timeout:g} s of the end"
            ws.close()
        reader.join(10)
        return ws.close_code, received, sent, end_sent


def stream_one(ws_url: str, rec: Recording, frame_s: float, client: int, t0: float, timeout: float) -> StreamResult:
    """Stream one recording at real-time pace; retries a 1013 refusal after a second."""
    res = StreamResult(client, rec.clip.id, rec.seconds, time.perf_counter() - t0)
    step = int(frame_s * 16000) * 2
    frames = [rec.pcm[i : i + step] for i in range(0, len(rec.pcm), step)]
    while True:
        code, received, sent, end_sent = _stream_attempt(f"{ws_url}?sample_rate=16000&name={rec.clip.id}",
                                                         frames, frame_s, timeout, res)
        if code != 1013:
            break
        res.refused += 1
        time.sleep(STREAM_RETRY_S)
    res.close_code = code
    for _, m in received:
        res.messages[m["type"]] = res.messages.get(m["type"], 0) + 1
    partials = [(t, m) for t, m in received if m["type"] == "partial"]
    if partials and rec.first_speech is not None:
        idx = min(int(rec.first_speech / frame_s), len(sent) - 1)
        res.first_partial = partials[0][0] - sent[idx]
    for t, m in partials:
        idx = min(max(0, math.ceil(m["end"] / frame_s - 1e-6) - 1), len(sent) - 1)
        res.partial_latencies.append(t - sent[idx])
    done = [(t, m) for t, m in received if m["type"] == "done"]
    if done:
        res.done_duration = done[0][1]["analysis"]["duration"]
        if end_sent is not None:
            res.final = done[0][0] - end_sent
    errors = [m for _, m in received if m["type"] in ("error", "client_timeout")]
    if errors and res.error is None:
        res.error = json.dumps(errors[0], ensure_ascii=False)[:300]
    return res


def run_streams(ws_url: str, recordings: list[Recording], clients: int, frame_s: float, t0: float,
                stop: threading.Event, timeout: float) -> list[StreamResult]:
    results: list[StreamResult] = []
    lock = threading.Lock()

    def client(j: int) -> None:
        k = j
        while not stop.is_set():
            rec = recordings[k % len(recordings)]
            k += 1
            try:
                res = stream_one(ws_url, rec, frame_s, j, t0, timeout)
            except Exception as exc:  # noqa: BLE001 - a failed connection is a result, reported
                res = StreamResult(j, rec.clip.id, rec.seconds, time.perf_counter() - t0, error=f"{type(exc).__name__}: {exc}")
            with lock:
                results.append(res)

    with ThreadPoolExecutor(max(1, clients)) as ex:
        for f in [ex.submit(client, j) for j in range(clients)]:
            f.result()
    return sorted(results, key=lambda r: r.started)


# ---- the run -------------------------------------------------------------------------------
def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def _slope_mb_per_min(samples: list[tuple[float, float, float]], min_window_s: float = 60.0) -> float | None:
    """Least-squares slope of RSS over the second half of the samples; None when that half is
    shorter than ``min_window_s`` (RSS moves by tens of MB from one request to the next)."""
    if len(samples) < 4 or samples[-1][0] - samples[0][0] < 2 * min_window_s:
        return None
    t = np.array([s[0] for s in samples])
    mb = np.array([s[1] for s in samples])
    half = t >= t[0] + (t[-1] - t[0]) / 2
    return float(np.polyfit(t[half], mb[half], 1)[0] * 60)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uploads", type=int, default=None, help="uploads in all (default 200; 20 with --quick)")
    ap.add_argument("--clients", type=int, default=8, help="uploads sent at a time (default 8)")
    ap.add_argument("--streams", type=int, default=None,
                    help="WebSocket clients streaming at once while the uploads run (default 4; 2 with --quick; 0: none)")
    ap.add_argument("--quick", action="store_true", help="a small run for a smoke check: 20 uploads, 2 streams")
    ap.add_argument("--frame", type=float, default=0.1, help="seconds of audio per stream frame, sent at real-time pace (default 0.1)")
    ap.add_argument("--seed", type=int, default=0, help="draws the upload clips and the orders (default 0)")
    ap.add_argument("--data", type=Path, default=DATA, help=f"the data pack's data folder (default {DATA})")
    ap.add_argument("--max-retries", type=int, default=100, help="503 retries per upload before it counts as failed (default 100)")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="client timeout in seconds for one upload or one stream message (default 600)")
    ap.add_argument("--concurrency", type=int, default=None, help="the server's --concurrency (default: what paravox serve picks)")
    ap.add_argument("--queue", type=int, default=None, help="the server's --queue (default: paravox serve's, 8)")
    ap.add_argument("--max-streams", type=int, default=None, help="the server's --max-streams (default: paravox serve's, 4)")
    ap.add_argument("--threads", type=int, default=None, help="the server's --threads (default: what paravox serve picks)")
    ap.add_argument("--out", type=Path, default=None, help="write everything measured to this JSON file")
    ap.add_argument("--server-log", type=Path, default=None, help="keep the server's output in this file (default: a temporary file)")
    ap.add_argument("serve_args", nargs="*", help="more `paravox serve` arguments (after --)")
    args = ap.parse_args(argv)
    n_uploads = args.uploads if args.uploads is not None else (20 if args.quick else 200)
    n_streams = args.streams if args.streams is not None else (2 if args.quick else 4)
    command = "python benchmarks/serve_load.py" + "".join(" " + shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))

    serve: list[str] = []
    for flag, value in (("--concurrency", args.concurrency), ("--queue", args.queue),
                        ("--max-streams", args.max_streams), ("--threads", args.threads)):
        if value is not None:
            serve += [flag, str(value)]
    serve += args.serve_args

    clips = upload_clips(args.data, args.seed)
    recordings = [load_recording(c) for c in stream_recordings(args.data, args.seed)] if n_streams else []
    log_dir = tempfile.TemporaryDirectory()
    log = args.server_log or Path(log_dir.name) / "serve.log"
    date = datetime.now().strftime("%Y-%m-%d %H:%M")
    load_before = uptime()
    failures: list[str] = []

    with serve_in_subprocess(*serve, log=log) as (url, proc):
        health = httpx.get(url + "/healthz", timeout=30).json()
        idle_mb = memory_mb(proc.pid).get("VmRSS")
        with httpx.Client(base_url=url, timeout=args.timeout) as http:  # warm-up, not counted
            http.post("/v1/analyze", files={"file": (clips[0].path.name, clips[0].path.read_bytes())}).raise_for_status()

        sampler = RssSampler(proc.pid)
        cpu0 = (_machine_cpu_s(), _proc_cpu_s(proc.pid), _proc_cpu_s("self"))
        t0 = time.perf_counter()
        sampler.start()
        stop = threading.Event()
        ws_url = url.replace("http://", "ws://") + "/v1/stream"
        with ThreadPoolExecutor(1) as ex:
            streams_future = ex.submit(run_streams, ws_url, recordings, n_streams, args.frame, t0, stop, args.timeout)
            try:
                uploads = run_uploads(url, clips, n_uploads, args.clients, t0, max_retries=args.max_retries,
                                      timeout=args.timeout)
            finally:
                stop.set()
            upload_wall = time.perf_counter() - t0
            streams = streams_future.result()
        wall = time.perf_counter() - t0
        cpu1 = (_machine_cpu_s(), _proc_cpu_s(proc.pid), _proc_cpu_s("self"))
        sampler.stop()
        hwm = memory_mb(proc.pid, ("VmHWM",)).get("VmHWM")
        alive = proc.poll() is None
        after = None
        if alive:
            try:
                after = httpx.get(url + "/healthz", timeout=30).json()
            except httpx.HTTPError as exc:
                failures.append(f"/healthz after the run: {type(exc).__name__}: {exc}")
        else:
            failures.append(f"the server exited with {proc.returncode} during the run")
    load_after = uptime()
    server_log = log.read_text(errors="replace") if log.exists() else ""

    # ---- figures ----
    codes: dict[str, int] = {}
    for u in uploads:
        for status, _ in u.attempts:
            codes[str(status)] = codes.get(str(status), 0) + 1
    ok = [u for u in uploads if u.status == 200 and u.error is None]
    lat = [u.seconds for u in ok]
    audio_s = sum(u.duration for u in ok)
    retried = sum(1 for u in uploads if any(s == 503 for s, _ in u.attempts))
    for u in uploads:
        if u.error is not None or u.status != 200:
            failures.append(f"upload {u.index} ({u.clip}): status {u.status}, {u.error}")
    served = [s for s in streams if s.close_code is not None]
    stream_codes: dict[str, int] = {}
    for s in streams:
        stream_codes[str(s.close_code)] = stream_codes.get(str(s.close_code), 0) + 1
        if s.refused:
            stream_codes["1013"] = stream_codes.get("1013", 0) + s.refused
        if s.close_code != 1000 or s.error is not None:
            failures.append(f"stream {s.recording} (client {s.client}): close {s.close_code}, {s.error}")
        elif s.done_duration is None or abs(s.done_duration - s.seconds) > 0.01:
            failures.append(f"stream {s.recording}: done covers {s.done_duration} s of {s.seconds:.3f} s sent")
    first = [s.first_partial for s in served if s.first_partial is not None]
    partial = [x for s in served for x in s.partial_latencies]
    final = [s.final for s in served if s.final is not None]
    stream_audio = sum(s.seconds for s in served if s.close_code == 1000)
    rss = sampler.samples
    rss_mb = [s[1] for s in rss]
    slope = _slope_mb_per_min(rss)
    dcpu = {k: cpu1[0][k] - cpu0[0][k] for k in cpu0[0]}
    server_cores = (cpu1[1] - cpu0[1]) / wall
    client_cores = (cpu1[2] - cpu0[2]) / wall
    other_cores = dcpu["busy"] / wall - server_cores - client_cores
    if after is not None and (after["queue"]["running"] or after["queue"]["waiting"]):
        failures.append(f"slots still taken after the run: {after['queue']}")
    tracebacks = server_log.count("Traceback")
    if tracebacks:
        failures.append(f"{tracebacks} traceback(s) in the server log ({log})")

    report = {
        "date": date,
        "command": command,
        "server_command": "python -m paravox.cli.main serve --host 127.0.0.1 --port PORT" + "".join(" " + shlex.quote(a) for a in serve),
        "cpus": os.cpu_count(),
        "server": {"limits": health.get("limits"), "models": health.get("models"), "idle_rss_mb": idle_mb,
                   "healthz_after": after, "alive_after": alive, "log_tracebacks": tracebacks},
        "load": {"before": load_before, "after": load_after, "server_cores": server_cores, "client_cores": client_cores,
                 "other_cores": other_cores, "steal_cores": dcpu["steal"] / wall,
                 "loadavg_1min_during": {"min": min((s[2] for s in rss), default=None),
                                         "max": max((s[2] for s in rss), default=None),
                                         "mean": float(np.mean([s[2] for s in rss])) if rss else None}},
        "uploads": {"n": n_uploads, "clients": args.clients, "ok": len(ok), "responses": codes,
                    "uploads_retried_after_503": retried, "wall_s": upload_wall,
                    "clips_per_s": len(ok) / upload_wall, "audio_s_per_s": audio_s / upload_wall,
                    "latency_s": {"p50": _pct(lat, 50), "p95": _pct(lat, 95), "max": max(lat, default=None)},
                    "latency_200_attempt_s": {"p50": _pct([a[1] for u in ok for a in u.attempts if a[0] == 200], 50),
                                              "p95": _pct([a[1] for u in ok for a in u.attempts if a[0] == 200], 95)},
                    "clips": [c.describe() for c in clips],
                    "results": [u.__dict__ for u in uploads]},
        "streams": {"clients": n_streams, "frame_s": args.frame, "recordings": len(streams),
                    "close_codes": stream_codes, "audio_s": stream_audio,
                    "first_partial_s": {"p50": _pct(first, 50), "p95": _pct(first, 95), "n": len(first)},
                    "partial_s": {"p50": _pct(partial, 50), "p95": _pct(partial, 95), "n": len(partial)},
                    "final_s": {"p50": _pct(final, 50), "p95": _pct(final, 95), "n": len(final)},
                    "without_partial": sum(1 for s in served if s.close_code == 1000 and not s.messages.get("partial")),
                    "late_frames": sum(s.late_frames for s in streams),
                    "recordings_used": [{**r.clip.describe(), "first_speech": r.first_speech} for r in recordings],
                    "results": [s.__dict__ for s in streams]},
        "rss_mb": {"idle": idle_mb, "start": rss_mb[0] if rss_mb else None, "peak": max(rss_mb, default=None),
                   "fifths": [float(np.median(part)) for part in np.array_split(rss_mb, 5) if len(part)],
                   "end": rss_mb[-1] if rss_mb else None, "vm_hwm": hwm, "slope_second_half_mb_per_min": slope,
                   "samples": [(round(t - t0, 2), round(mb, 1), round(anon, 1), round(file, 1))
                               for (t, mb, _), (anon, file) in zip(rss, sampler.parts)],
                   "samples_fields": ["seconds", "VmRSS", "RssAnon", "RssFile"]},
        "wall_s": wall,
        "failures": failures,
    }
    print(table(report))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    if failures:
        print(f"\nFAILED ({len(failures)}):", *failures[:20], sep="\n  ", file=sys.stderr)
        if args.server_log is None:
            print("\nserver log (last 3000 characters):\n" + server_log[-3000:], file=sys.stderr)
    log_dir.cleanup()
    return 1 if failures else 0


def table(r: dict[str, Any]) -> str:
    """The run as a header (date, command, server, machine load) and one markdown table."""

    def s(x: float | None, fmt: str = "{:.2f}") -> str:
        return "-" if x is None else fmt.format(x)

    u, st, mem, load = r["uploads"], r["streams"], r["rss_mb"], r["load"]
    limits = r["server"]["limits"] or {}
    models = ", ".join(f"{k} {v}" for k, v in (r["server"]["models"] or {}).items() if v)
    others = ", ".join(f"{k}: {v}" for k, v in u["responses"].items() if k not in ("200", "503")) or "0"
    codes = ", ".join(f"{k}: {v}" for k, v in sorted(st["close_codes"].items())) or "-"
    first, partial, final, lat = st["first_partial_s"], st["partial_s"], st["final_s"], u["latency_s"]
    header = [
        (f"paravox serve under load, {r['date']}, {r['cpus']} CPUs; server: --concurrency {limits.get('max_concurrency')} "
         f"--queue {limits.get('max_queue')} --max-streams {limits.get('max_streams')}; models: {models}"),
        f"command: {r['command']}",
        f"load before: {load['before']}",
        f"load after:  {load['after']}",
        (f"during the run: server {load['server_cores']:.2f} cores, this client {load['client_cores']:.2f}, "
         f"other processes {load['other_cores']:.2f}, steal {load['steal_cores']:.2f}"),
    ]
    rows = [
        ("uploads", f"{u['n']}, {u['clients']} at a time; {u['ok']} answered 200"),
        ("upload responses", (f"200: {u['responses'].get('200', 0)}; 503 (retried after Retry-After): "
                              f"{u['responses'].get('503', 0)} on {u['uploads_retried_after_503']} uploads; other: {others}")),
        ("upload throughput", f"{u['clips_per_s']:.2f} clips/s, {u['audio_s_per_s']:.2f} s of audio per s ({u['wall_s']:.0f} s)"),
        ("upload latency p50 / p95 / max (s)", f"{s(lat['p50'])} / {s(lat['p95'])} / {s(lat['max'])}"),
        ("streams", (f"{st['clients']} at once: {st['recordings']} recordings, {st['audio_s'] / 60:.1f} min of audio; "
                     f"close codes {codes}")),
        ("first partial p50 / p95 (s)", (f"{s(first['p50'])} / {s(first['p95'])} ({first['n']} recordings; "
                                         f"{st['without_partial']} without a partial)")),
        ("partial latency p50 / p95 (s)", f"{s(partial['p50'])} / {s(partial['p95'])} ({partial['n']} partials)"),
        ("final latency p50 / p95 (s)", f"{s(final['p50'])} / {s(final['p95'])}"),
        ("server RSS idle / start / peak / end (MB)",
         " / ".join(s(mem[k], "{:.0f}") for k in ("idle", "start", "peak", "end"))),
        ("server RSS median by fifth of the run (MB)", " / ".join(s(x, "{:.0f}") for x in mem["fifths"]) or "-"),
        ("RSS slope, second half of the run",
         f"{s(mem['slope_second_half_mb_per_min'], '{:+.2f}')} MB/min (over {r['wall_s'] / 2 / 60:.1f} min)"),
        ("run", f"{r['wall_s']:.0f} s; failures: {len(r['failures'])}"),
    ]
    return "\n".join(header + ["", "| measure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows])


if __name__ == "__main__":
    sys.exit(main())
