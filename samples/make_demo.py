#!/usr/bin/env python3
"""Rebuild ``samples/demo.flac`` from audio shipped inside registry packages.

Nothing here is synthesised: every sample in the output comes from audio files
in the three source packages below, cut, level-adjusted by a fixed gain, resampled to
16 kHz mono and concatenated.  See ``samples/README.md`` for provenance and
``samples/LICENSES.md`` for the licences.

Sources (all pinned by SHA-256, both the package archive and the member file):

* PyPI ``pocketsphinx==5.1.1`` sdist, ``test/data/librivox/*.wav``
  - public-domain LibriVox reading of Jane Austen, *Sense and Sensibility*, ch. 1
* Debian bookworm ``wesnoth-1.16-data`` 1:1.16.9-1,
  ``usr/share/games/wesnoth/1.16/data/core/sounds/dwarf-laugh.wav`` (GPL-2+)
* Debian bookworm ``openarena-data`` 0.8.5split-14, ``sound/player/sarge/gasp.wav``
  inside ``usr/share/games/openarena/baseoa/pak0.pk3`` (GPL-2+, voice by RottKing)

Usage::

    python samples/make_demo.py                 # fetch (if needed) + build samples/demo.flac
    python samples/make_demo.py --speech-only   # public-domain speech only, no GPL parts
    python samples/make_demo.py --cache DIR --out PATH

Fetching uses the ordinary registries only: PyPI's JSON simple index for the
sdist, ``apt-get download`` (Debian bookworm sources) for the two .deb files.
Already-downloaded archives can be dropped into the cache directory instead
(``--cache``, default ``~/.cache/paravox-demo``).  Needs numpy and PyAV
(``av``); sox is *not* needed.  The build is deterministic for a given
PyAV/FFmpeg build (resampling and FLAC encoding are done by FFmpeg).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import lzma
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from pathlib import Path

import av
import numpy as np

SR = 16_000

# ---------------------------------------------------------------------------
# Pinned sources
# ---------------------------------------------------------------------------

PS_SDIST = {
    "name": "pocketsphinx",
    "filename": "pocketsphinx-5.1.1.tar.gz",
    "sha256": "675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355",
}
PS_MEMBER = "pocketsphinx-5.1.1/test/data/librivox/sense_and_sensibility_01_austen_64kb-{}.wav"

WESNOTH_DEB = {
    "package": "wesnoth-1.16-data",
    "version": "1:1.16.9-1",
    "filename": "wesnoth-1.16-data_1%3a1.16.9-1_all.deb",
    "sha256": "1012b964bd412a6770685e3324ae3b61e176caff7846192d1ee63d55cd621e26",
}
WESNOTH_MEMBER = "./usr/share/games/wesnoth/1.16/data/core/sounds/dwarf-laugh.wav"

OPENARENA_DEB = {
    "package": "openarena-data",
    "version": "0.8.5split-14",
    "filename": "openarena-data_0.8.5split-14_all.deb",
    "sha256": "fa68862434f02a826b7ef22008f25f406623abf4e37113c1bfab5460065483c8",
}
OPENARENA_PK3 = "./usr/share/games/openarena/baseoa/pak0.pk3"
OPENARENA_MEMBER = "sound/player/sarge/gasp.wav"

# SHA-256 of the individual source audio files (as stored in the archives).
MEMBER_SHA256 = {
    "0880": "fbec491ef00ee734a67f0ee318e98c51c157b479e1629ff4f4426861ecac0414",
    "0890": "5793ffbdee55fb8bfd284943a6866864c832d9d4accf2661cabd39915c84ee10",
    "0920": "40882414ef4cc51f3ff7a63bad0c8c87e7f595ffeb8209fbf756c8ebc5c28a59",
    "0930": "954adbf0b56ac8a148cbe77b39ca18d76b5f2a1e1f405565bd786ce3e68a68b7",
    "laugh": "b1032bd3a7c4d70c652b520558b9e42b6d6ded97e14c580358660893c239474a",
    "gasp": "7be6ce50f5a5712b31e66ca2cb81ed284bcdb91f4a357220c2f7a7fe2cc26c2a",
}

# LibriVox utterances: id, reference transcript (pocketsphinx test/data/librivox/*.txt)
UTTS = {
    "0880": "he was not an ill disposed young man",
    "0890": "unless to be rather cold hearted and rather selfish is to be ill disposed",
    "0920": "had he married a more a amiable woman he might have been made still more respectable than he was",
    "0930": "he might even have been made amiable himself",
}
# speech start/end inside each utterance file, from pocketsphinx
# test/data/librivox/*.lab (seconds)
UTT_SPEECH = {
    "0880": (0.250750, 2.773918),
    "0890": (0.260118, 5.056508),
    "0920": (0.245997, 5.812651),
    "0930": (0.269115, 3.036561),
}

# Timeline.  ("utt", id, gain_dB) = whole utterance file (keeps its own
# leading/trailing silence);  ("event", name, tag, start_s, end_s, gain_dB)
# = cut [start_s, end_s) of the event source;  ("gap", seconds) = digital
# silence.  Fades: 10 ms in/out on event cuts.
TIMELINE = [
    ("utt", "0880", +3.0),
    ("gap", 0.15),
    ("event", "laugh", "laugh", 0.00, 2.60, -6.0),
    ("gap", 0.15),
    ("utt", "0890", +1.0),
    ("utt", "0920", -1.0),
    ("gap", 0.15),
    ("event", "gasp", "gasp", 0.00, 0.54, 0.0),
    ("gap", 0.15),
    ("utt", "0930", 0.0),
]
FADE_S = 0.010


# ---------------------------------------------------------------------------
# Fetching
# ---------------------------------------------------------------------------

def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check(data: bytes, expected: str, what: str) -> bytes:
    got = sha256(data)
    if got != expected:
        raise SystemExit(f"SHA-256 mismatch for {what}: got {got}, expected {expected}")
    return data


def fetch_pypi_sdist(cache: Path, spec: dict) -> bytes:
    path = cache / spec["filename"]
    if not path.exists():
        req = urllib.request.Request(
            f"https://pypi.org/simple/{spec['name']}/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        )
        with urllib.request.urlopen(req, timeout=120) as r:
            index = json.load(r)
        files = [f for f in index["files"] if f["filename"] == spec["filename"]]
        if not files:
            raise SystemExit(f"{spec['filename']} not found on PyPI")
        print(f"downloading {spec['filename']} from PyPI ...", file=sys.stderr)
        with urllib.request.urlopen(files[0]["url"], timeout=600) as r:
            path.write_bytes(r.read())
    return check(path.read_bytes(), spec["sha256"], spec["filename"])


def fetch_deb(cache: Path, spec: dict) -> bytes:
    path = cache / spec["filename"]
    if not path.exists():
        print(f"apt-get download {spec['package']}={spec['version']} ...", file=sys.stderr)
        subprocess.run(
            ["apt-get", "download", f"{spec['package']}={spec['version']}"],
            cwd=cache, check=True,
        )
    return check(path.read_bytes(), spec["sha256"], spec["filename"])


def deb_member(deb: bytes, member: str) -> bytes:
    """Extract one file from a .deb (ar archive holding data.tar.xz), pure Python."""
    if not deb.startswith(b"!<arch>\n"):
        raise SystemExit("not a .deb/ar archive")
    pos = 8
    while pos < len(deb):
        header = deb[pos:pos + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        body = deb[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)
        if name.startswith("data.tar"):
            if name.endswith(".xz"):
                body = lzma.decompress(body)
            elif not name.endswith(".tar"):
                raise SystemExit(f"unsupported compression: {name} (use dpkg-deb)")
            with tarfile.open(fileobj=io.BytesIO(body)) as tf:
                f = tf.extractfile(member)
                if f is None:
                    raise SystemExit(f"{member} not in data archive")
                return f.read()
    raise SystemExit("data.tar.* not found in .deb")


def load_sources(cache: Path, speech_only: bool) -> dict[str, bytes]:
    cache.mkdir(parents=True, exist_ok=True)
    out: dict[str, bytes] = {}
    sdist = fetch_pypi_sdist(cache, PS_SDIST)
    with tarfile.open(fileobj=io.BytesIO(sdist), mode="r:gz") as tf:
        for uid in UTTS:
            f = tf.extractfile(PS_MEMBER.format(uid))
            assert f is not None
            out[uid] = f.read()
    if not speech_only:
        out["laugh"] = deb_member(fetch_deb(cache, WESNOTH_DEB), WESNOTH_MEMBER)
        pk3 = deb_member(fetch_deb(cache, OPENARENA_DEB), OPENARENA_PK3)
        with zipfile.ZipFile(io.BytesIO(pk3)) as zf:
            out["gasp"] = zf.read(OPENARENA_MEMBER)
    for key, data in out.items():
        check(data, MEMBER_SHA256[key], f"source audio '{key}'")
    return out


# ---------------------------------------------------------------------------
# Audio
# ---------------------------------------------------------------------------

def decode(data: bytes) -> np.ndarray:
    """Decode any audio file to float64 mono at 16 kHz (FFmpeg resampler)."""
    with av.open(io.BytesIO(data)) as c:
        rs = av.AudioResampler(format="flt", layout="mono", rate=SR)
        chunks = []
        for frame in c.decode(c.streams.audio[0]):
            chunks += [f.to_ndarray().ravel() for f in rs.resample(frame)]
        chunks += [f.to_ndarray().ravel() for f in rs.resample(None)]
    return np.concatenate(chunks).astype(np.float64)


def fade(x: np.ndarray) -> np.ndarray:
    n = min(int(round(FADE_S * SR)), len(x) // 2)
    if n:
        ramp = np.linspace(0.0, 1.0, n, endpoint=False)
        x = x.copy()
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def build(sources: dict[str, bytes], speech_only: bool):
    pieces, events, utts = [], [], []
    t = 0  # samples
    for item in TIMELINE:
        kind = item[0]
        if kind == "gap":
            if speech_only:
                continue
            x = np.zeros(int(round(item[1] * SR)))
        elif kind == "utt":
            _, uid, gain = item
            x = decode(sources[uid]) * 10 ** (gain / 20)
            s, e = UTT_SPEECH[uid]
            utts.append({"id": uid, "start": round(t / SR + s, 3), "end": round(t / SR + e, 3),
                         "text": UTTS[uid]})
        else:
            _, key, tag, start, end, gain = item
            if speech_only:
                continue
            src = decode(sources[key])
            x = fade(src[int(round(start * SR)):int(round(end * SR))] * 10 ** (gain / 20))
            events.append({"tag": tag, "start": round(t / SR, 3), "end": round((t + len(x)) / SR, 3)})
        pieces.append(x)
        t += len(x)
    y = np.concatenate(pieces)
    peak = float(np.abs(y).max())
    if peak >= 1.0:
        raise SystemExit(f"clipping (peak {peak:.3f}); lower the gains")
    pcm = np.round(y * 32767.0).astype(np.int16)
    return pcm, utts, events


def write_flac(pcm: np.ndarray, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    # bitexact: no "encoder=Lavf..." tag, so the file does not depend on the FFmpeg version string
    with av.open(str(out), "w", format="flac", options={"fflags": "+bitexact"}) as c:
        st = c.add_stream("flac", rate=SR, layout="mono")
        st.codec_context.options = {"compression_level": "12"}
        st.codec_context.flags |= av.codec.context.Flags.bitexact
        for i in range(0, len(pcm), 4096):
            fr = av.AudioFrame.from_ndarray(pcm[None, i:i + 4096], format="s16", layout="mono")
            fr.sample_rate = SR
            for p in st.encode(fr):
                c.mux(p)
        for p in st.encode(None):
            c.mux(p)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "paravox-demo")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "demo.flac")
    ap.add_argument("--speech-only", action="store_true",
                    help="leave out the GPL-2+ nonverbal events (public-domain speech only)")
    args = ap.parse_args()
    sources = load_sources(args.cache, args.speech_only)
    pcm, utts, events = build(sources, args.speech_only)
    write_flac(pcm, args.out)
    print(json.dumps({"file": str(args.out), "duration_s": round(len(pcm) / SR, 3),
                      "bytes": args.out.stat().st_size, "utterances": utts, "events": events},
                     indent=2))


if __name__ == "__main__":
    main()
