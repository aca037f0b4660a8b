"""What Whisper base writes for an isolated vocalization when it may describe sounds (issue 20, round 4).

    python benchmarks/experiments/sound_words_isolated.py            # every Deeply clip, 200 EmoGator bursts
    python benchmarks/experiments/sound_words_isolated.py --limit 20 # a quick look

Each clip goes through the recogniser with ``TranscribeOptions(sound_words=True)``
(paravox's own decoding: its VAD, language per region) and then through
:func:`paravox.vocal_events.sound_words.sounds_from_words`, as ``paravox analyze
--sound-words --events none`` does. Printed per reference tag: clips, how many Whisper
described with a vocal tag, how many of those with the right one, the tags it wrote, and how
many got words instead (spelled-out sounds, or invented speech). Rows are written to
``benchmarks/results/sound_words_isolated.jsonl`` (not committed), so a rerun resumes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "nonverbal"
OUT = REPO / "benchmarks" / "results" / "sound_words_isolated.jsonl"


def clips(limit: int | None, emogator: int) -> list[dict]:
    from paravox.training.mixtures import EMOGATOR_TAGS

    rows = []
    for line in (DATA / "deeply" / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        rows.append({"id": r["id"], "audio": str(DATA / "deeply" / r["audio"]), "tag": r["tag"], "source": "deeply"})
    emo = []
    for line in (DATA / "emogator" / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r["category"] in EMOGATOR_TAGS:
            emo.append({"id": r["id"], "audio": str(DATA / "emogator" / r["audio"]), "tag": EMOGATOR_TAGS[r["category"]],
                        "source": "emogator"})
    emo.sort(key=lambda r: r["id"])
    rows += emo[:: max(1, len(emo) // emogator)][:emogator] if emogator else []
    return rows[:limit] if limit else rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="only the first N clips")
    ap.add_argument("--emogator", type=int, default=200, help="EmoGator bursts, spread over the categories' ids")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    from paravox.audio import load_audio
    from paravox.backends.whisper import WhisperBaseASR
    from paravox.options import TranscribeOptions
    from paravox.vocal_events.sound_words import sounds_from_words

    done = {}
    if OUT.exists():
        done = {r["id"]: r for r in map(json.loads, OUT.read_text(encoding="utf-8").splitlines())}
    asr = WhisperBaseASR()
    opts = TranscribeOptions(sound_words=True)
    todo = [c for c in clips(args.limit, args.emogator) if c["id"] not in done]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    for k, c in enumerate(todo, 1):
        result = asr.transcribe(load_audio(c["audio"]).samples, options=opts)
        raw = " ".join(s.text for s in result.segments)
        segments, sounds = sounds_from_words(result.segments)
        row = {**c, "raw": raw, "words": " ".join(s.text for s in segments), "described": [e.tag for e in sounds]}
        with OUT.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        done[c["id"]] = row
        if k % 25 == 0:
            print(f"{k}/{len(todo)}", file=sys.stderr)
    wanted = {c["id"] for c in clips(args.limit, args.emogator)}
    per: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in done.values():
        if r["id"] in wanted:
            per[(r["source"], r["tag"])].append(r)
    print("| source | tag | clips | described with a vocal tag | right | tags written | words instead |")
    print("|---|---|---|---|---|---|---|")
    total = Counter()
    for (source, tag), rs in sorted(per.items()):
        described = [r for r in rs if r["described"]]
        right = [r for r in described if tag in r["described"]]
        written = Counter(t for r in described for t in set(r["described"]))
        words = sum(1 for r in rs if r["words"].strip())
        total.update(clips=len(rs), described=len(described), right=len(right), words=words)
        print(f"| {source} | {tag} | {len(rs)} | {len(described)} | {len(right)} | "
              f"{', '.join(f'{t} {n}' for t, n in written.most_common(4)) or '-'} | {words} |")
    print(f"| all | | {total['clips']} | {total['described']} | {total['right']} | | {total['words']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
