"""Build and measure the tiny emotion model (``paravox emotion --model tiny``).

    python benchmarks/emotion_tiny.py --train        # re-creates src/paravox/speech_emotion/tiny_weights (~8 min)
    python benchmarks/emotion_tiny.py --eval         # every figure of tiny_weights/MODEL_CARD.md (~25 min, 2 jobs)

``--train`` distils the shipped Whisper-based model into the tiny network on every clip of
the data pack (the emotion corpora, labelled or not, plus ``nonverbal/*`` and
``nvasr/dev``, ``nvasr/tts-demos`` as unlabelled input; labels are never used), seed 0,
one thread; deterministic.

``--eval`` prints:

* the RAVDESS speaker-independent table: for each of the six folds of
  ``emotion/ravdess/folds.json`` a student is distilled WITHOUT that fold's test clips
  (everything else as in ``--train``) for each ``--seeds`` seed and scored on them; next
  to it the shipped teacher (which was trained on all of RAVDESS actors 01-20, so it has
  heard these actors) and a teacher re-trained without the fold (the shipped recipe on clean
  cached features: C = 0.003, temperature on held-out speakers, no noise copies). UA is in
  the nine-label space (RAVDESS calm and neutral are both ``neutral``: 7 classes);
  "agree" is the share of test clips where student and shipped teacher pick the same label;
  with a dimensional teacher also the CCC of each dimension against the teacher;
* the shipped tiny model's parameters (read from the ONNX graph) and file size;
* time for one 3-s clip on one core: ``paravox.emotion(path)`` with the shipped model
  against loading the same file and :meth:`TinyEmotionModel.clip_scores`, and the two
  models alone on the decoded samples (median of ``--repeat`` runs after a warm-up, each in
  a fresh process pinned to one core).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
SHIPPED = ROOT / "src" / "paravox" / "speech_emotion" / "tiny_weights"


# --------------------------------------------------------------------------- shared data


def load_everything(options: dict | None = None):
    """Clips, per-window log-mels, window -> clip owner, the teacher's answers per clip
    (clean), and the training windows' variants and targets: ``(clips, mels, owner, probs,
    dims, variant, wprobs, wdims)``. With ``copies`` in ``options`` the augmented copies of
    the :data:`COPY_CORPORA` clips follow the clean windows (``variant`` 1, 2, ... in the
    order of ``copies``; ``owner`` names their clip), each with the teacher's answer on it."""
    from paravox.training.emotion_tiny import COPY_CORPORA, TinyOptions, clip_mels, pack_clips, teacher_targets

    clips = pack_clips(DATA)
    paths = [c.path for c in clips]
    t = time.perf_counter()
    mels, owner = clip_mels(paths, progress=True)
    probs, dims = teacher_targets(paths)
    variant = np.zeros(len(mels), dtype=np.int64)
    wprobs, wdims = probs[owner], (None if dims is None else dims[owner])
    copied = [i for i, c in enumerate(clips) if c.corpus in COPY_CORPORA]
    for v, kind in enumerate(TinyOptions(**(options or {})).copies, start=1):
        m, o = clip_mels([paths[i] for i in copied], progress=True, augment=kind)
        p, d = teacher_targets([paths[i] for i in copied], augment=kind)
        mels += m
        owner = np.concatenate([owner, np.asarray(copied)[o]])
        variant = np.concatenate([variant, np.full(len(m), v)])
        wprobs = np.vstack([wprobs, p[o]])
        wdims = None if wdims is None else np.vstack([wdims, d[o]])
    print(f"{len(clips)} clips, {len(mels)} windows ({int(np.sum(variant > 0))} of copies), teacher dims: "
          f"{dims is not None} ({time.perf_counter() - t:.0f} s)", file=sys.stderr, flush=True)
    return clips, mels, owner, probs, dims, variant, wprobs, wdims


def train_and_export(clips, mels, owner, variant, wprobs, wdims, exclude: set[str], seed: int, out: Path,
                     log: bool = False, options=None):
    from paravox.speech_emotion.model import EMOTION2VEC_LABELS
    from paravox.training.emotion_tiny import TinyOptions, export, train_student

    keep = np.array([clips[o].id not in exclude for o in owner])
    labelled = np.array([clips[o].corpus.startswith("emotion/") for o in owner])
    idx = np.flatnonzero(keep)
    result = train_student([mels[j] for j in idx], wprobs[idx], None if wdims is None else wdims[idx],
                           labelled[idx], TinyOptions(**{**(options or {}), "seed": seed}), log=log,
                           unit=owner[idx], variant=variant[idx])
    corpora = sorted({clips[o].corpus for o in owner[idx]})
    export(result, out, EMOTION2VEC_LABELS, training={
        "teacher": "paravox-emotion (shipped, src/paravox/speech_emotion/weights)",
        "clips": int(len(set(owner[idx].tolist()))), "windows": int(np.sum(variant[idx] == 0)),
        "copy_windows": int(np.sum(variant[idx] > 0)), "corpora": corpora,
        "excluded_clips": len(exclude),
        "command": "python benchmarks/emotion_tiny.py --train",
    })
    return result


# --------------------------------------------------------------------------- --train


def cmd_train(args) -> None:
    from paravox.training.emotion_tiny import onnx_parameters

    clips, mels, owner, _, _, variant, wprobs, wdims = load_everything(tiny_options(args))
    out = Path(args.out)
    r = train_and_export(clips, mels, owner, variant, wprobs, wdims, set(), seed=0, out=out, log=True,
                         options=tiny_options(args))
    size = (out / "model.onnx").stat().st_size
    print(f"wrote {out}: {onnx_parameters(out / 'model.onnx')} parameters, model.onnx {size} bytes, "
          f"trained in {r.seconds:.0f} s on {r.n_windows} windows")


# --------------------------------------------------------------------------- --eval


def _fold_task(task):
    """One (fold, seed): student distilled without the fold, scored through ONNX on the fold."""
    k, seed = task
    from paravox.audio import load_audio
    from paravox.speech_emotion.tiny import TinyEmotionModel

    clips, mels, owner, variant, wprobs, wdims, folds, options = _SHARED
    test_ids = set(folds[str(k)]["test"])
    with tempfile.TemporaryDirectory() as tmp:
        r = train_and_export(clips, mels, owner, variant, wprobs, wdims, test_ids, seed, Path(tmp), options=options)
        model = TinyEmotionModel.load(tmp)
        test = [i for i, c in enumerate(clips) if c.id in test_ids]
        sp, sd = model.clip_scores([load_audio(clips[i].path).samples for i in test])
    print(f"fold {k} seed {seed}: trained in {r.seconds:.0f} s", file=sys.stderr, flush=True)
    return k, seed, test, sp, sd


def _teacher_task(k):
    """The shipped recipe re-trained without fold k's test clips (clean cached features)."""
    from paravox.speech_emotion.features import FeatureConfig
    from paravox.speech_emotion.model import EMOTION2VEC_LABELS
    from paravox.training.feature_cache import extract_files
    from paravox.training.speech_emotion import HeadOptions, train_model

    clips, _, _, _, _, _, folds, _ = _SHARED
    test_ids = set(folds[str(k)]["test"])
    lab = [i for i, c in enumerate(clips) if c.label is not None]
    feats = FeatureConfig(layers=(0, 1, 2, 3), prosody=True)
    X = extract_files([clips[i].path for i in lab], feats)
    train = [j for j, i in enumerate(lab) if clips[i].id not in test_ids]
    test = [j for j, i in enumerate(lab) if clips[i].id in test_ids]
    t = time.perf_counter()
    model, _ = train_model(X[train], EMOTION2VEC_LABELS, [clips[lab[j]].label for j in train],
                           [f"{clips[lab[j]].corpus}:{clips[lab[j]].speaker}" for j in train], feats,
                           head=HeadOptions(C=0.003), seed=0)
    print(f"fold {k} teacher re-trained in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    return k, [lab[j] for j in test], model.predict_proba(X[test])


_SHARED = None


def ccc(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    cov = np.mean((a - a.mean()) * (b - b.mean()))
    return float(2 * cov / (a.var() + b.var() + (a.mean() - b.mean()) ** 2 + 1e-12))


def cmd_eval(args) -> dict:
    global _SHARED
    from paravox.bench.speech_emotion import load_corpus
    from paravox.evaluation.classification import evaluate_classification
    from paravox.speech_emotion.model import EMOTION2VEC_LABELS

    clips, mels, owner, probs, dims, variant, wprobs, wdims = load_everything(tiny_options(args))
    folds = load_corpus(DATA / "emotion" / "ravdess").folds
    _SHARED = (clips, mels, owner, variant, wprobs, wdims, folds, tiny_options(args))
    fold_ids = [int(k) for k in sorted(folds, key=int)] if not args.folds else args.folds
    tasks = [(k, s) for s in args.seeds for k in fold_ids]
    labels = list(EMOTION2VEC_LABELS)

    import multiprocessing as mp

    ctx = mp.get_context("fork")
    with ctx.Pool(args.jobs) as pool:
        teacher_jobs = pool.map_async(_teacher_task, fold_ids) if args.teacher_retrain else None
        students = pool.map(_fold_task, tasks)
        retrained = {k: (idx, p) for k, idx, p in teacher_jobs.get()} if teacher_jobs else {}

    def ua(idx, p):
        return evaluate_classification([clips[i].label for i in idx], [labels[j] for j in p.argmax(1)]).ua

    rows, out = [], {"folds": {}, "seeds": list(args.seeds)}
    for k in fold_ids:
        entry = {}
        per_seed = [(s, test, sp, sd) for kk, s, test, sp, sd in students if kk == k]
        test = per_seed[0][1]
        tp = probs[test]
        entry["clips"] = len(test)
        entry["teacher_shipped"] = ua(test, tp)
        if k in retrained:
            entry["teacher_retrained"] = ua(*retrained[k])
        entry["student"] = [ua(test, sp) for _, _, sp, _ in per_seed]
        entry["agree"] = [float(np.mean(sp.argmax(1) == tp.argmax(1))) for _, _, sp, _ in per_seed]
        if dims is not None:
            entry["ccc"] = [[ccc(sd[:, d], dims[test, d]) for d in range(dims.shape[1])] for _, _, _, sd in per_seed]
        out["folds"][k] = entry
    # pooled over folds (every RAVDESS clip scored once per seed, by a student that never heard it)
    pooled = {}
    all_test = [i for k in fold_ids for i in [t for kk, s, t, _, _ in students if kk == k and s == args.seeds[0]][0]]
    pooled["teacher_shipped"] = ua(all_test, probs[all_test])
    if retrained:
        idx = [i for k in fold_ids for i in retrained[k][0]]
        pooled["teacher_retrained"] = ua(idx, np.vstack([retrained[k][1] for k in fold_ids]))
    pooled["student"] = []
    for s in args.seeds:
        idx, ps = [], []
        for kk, ss, t, sp, _ in students:
            if ss == s:
                idx += t
                ps.append(sp)
        pooled["student"].append(ua(idx, np.vstack(ps)))
    out["pooled"] = pooled

    def f(x):
        return f"{100 * x:.1f}"

    def ms(xs):
        return f"{100 * np.mean(xs):.1f} ± {100 * np.std(xs):.1f}" if len(xs) > 1 else f(xs[0])

    head = "| RAVDESS fold (test actors) | clips | teacher, shipped (heard them) | teacher, re-trained without fold | student UA (seeds " \
           + ", ".join(map(str, args.seeds)) + ") | student-teacher agreement |"
    print("\nUA (%) on RAVDESS speaker-independent folds; student mean ± std over seeds")
    print(head)
    print("|---|---|---|---|---|---|")
    for k in fold_ids:
        e = out["folds"][k]
        actors = sorted({clips[i].speaker.replace("Actor_", "") for i in [t for kk, s, t, _, _ in students if kk == k][0]})
        print(f"| {k} ({', '.join(actors)}) | {e['clips']} | {f(e['teacher_shipped'])} | "
              f"{f(e['teacher_retrained']) if 'teacher_retrained' in e else '-'} | {ms(e['student'])} | {ms(e['agree'])} |")
    mean_of = {key: np.mean([out['folds'][k][key] for k in fold_ids]) for key in ("teacher_shipped",)}
    st_means = [np.mean([out["folds"][k]["student"][i] for k in fold_ids]) for i in range(len(args.seeds))]
    ag_means = [np.mean([out["folds"][k]["agree"][i] for k in fold_ids]) for i in range(len(args.seeds))]
    rt = f(np.mean([out['folds'][k]['teacher_retrained'] for k in fold_ids])) if retrained else "-"
    print(f"| mean of folds | {sum(out['folds'][k]['clips'] for k in fold_ids)} | {f(mean_of['teacher_shipped'])} | {rt} | "
          f"{ms(st_means)} | {ms(ag_means)} |")
    print(f"| pooled (all test clips) | | {f(pooled['teacher_shipped'])} | "
          f"{f(pooled['teacher_retrained']) if 'teacher_retrained' in pooled else '-'} | {ms(pooled['student'])} | |")
    out["mean"] = {"teacher_shipped": float(mean_of["teacher_shipped"]), "student": st_means, "agree": ag_means}
    if dims is not None:
        c = np.array([[out["folds"][k]["ccc"][i] for k in fold_ids] for i in range(len(args.seeds))])  # seeds, folds, dims
        print("CCC student vs teacher dimensions (mean of folds): " + ", ".join(
            f"{n} {np.mean(c[:, :, d]):.3f} ± {np.std(c[:, :, d].mean(1)):.3f}" for d, n in enumerate(("valence", "arousal", "dominance")[: c.shape[2]])))
    out["options"] = tiny_options(args)
    out["model"] = describe(Path(args.model))
    if args.speed_in_eval:
        out["speed"] = speed(args)
    return out


def tiny_options(args) -> dict:
    """TinyOptions overrides from ``--epochs``, ``--crop``, ``--tau``, ``--stem``, ``--width``,
    ``--copies`` (only those given; the rest keep TinyOptions' defaults)."""
    o = {}
    for key in ("epochs", "tau", "stem", "width"):
        if getattr(args, key) is not None:
            o[key] = getattr(args, key)
    if args.copies is not None:
        o["copies"] = tuple(c for c in args.copies if c != "none")
    if args.crop is not None:
        o["crop_frames"] = int(round(args.crop * 100))  # 10-ms frames
    return o


def describe(d: Path) -> dict:
    from paravox.training.emotion_tiny import onnx_parameters

    params = onnx_parameters(d / "model.onnx")
    size = (d / "model.onnx").stat().st_size
    print(f"\ntiny model {d.name}: {params} parameters (ONNX initializers), model.onnx {size} bytes ({size / 1024:.0f} KiB)")
    return {"parameters": params, "bytes": size}


# --------------------------------------------------------------------------- speed


def three_seconds() -> np.ndarray:
    from paravox.audio import load_audio

    folder = DATA / "emotion" / "ravdess"
    rows = [json.loads(x) for x in (folder / "manifest.jsonl").read_text().splitlines() if x.strip()][:2]
    return np.concatenate([load_audio(folder / r["audio"]).samples for r in rows])[: 3 * 16000]


_SPEED_WORKER = r"""
import json, os, statistics, sys, time
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
path, which, repeat, model_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def timed(fn):
    fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)
from paravox.audio import load_audio
samples = load_audio(path).samples
if which == "shipped":
    from paravox.encoder.onnx_encoder import set_runtime_threads
    set_runtime_threads(1)
    import paravox
    from paravox.speech_emotion.features import FeatureExtractor
    from paravox.speech_emotion.model import load_model
    teacher = load_model()
    extractor = FeatureExtractor(teacher.features)
    full = timed(lambda: paravox.emotion(path))
    alone = timed(lambda: teacher.predict_proba(extractor(samples)))
else:
    from paravox.speech_emotion.tiny import TinyEmotionModel
    m = TinyEmotionModel.load(model_dir, threads=1)
    full = timed(lambda: m.clip_scores([load_audio(path).samples]))
    alone = timed(lambda: m.clip_scores([samples]))
print(json.dumps({"file": full, "samples": alone, "torch": "torch" in sys.modules}))
"""


def speed(args) -> dict:
    import soundfile as sf

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "three_seconds.wav"
        sf.write(path, three_seconds(), 16000, subtype="PCM_16")
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        res = {}
        for which in ("shipped", "tiny"):
            p = subprocess.run([sys.executable, "-c", _SPEED_WORKER, str(path), which, str(args.repeat), str(args.model)],
                               capture_output=True, text=True, env=env)
            if p.returncode:
                raise SystemExit(f"speed worker ({which}) failed:\n{p.stderr[-3000:]}")
            res[which] = json.loads(p.stdout.strip().splitlines()[-1])
    s, t = res["shipped"], res["tiny"]
    print(f"\none 3-s clip, one core (median of {args.repeat}):")
    print("| | shipped (Whisper-base blocks 0-3 + prosody) | tiny | speed-up |")
    print("|---|---|---|---|")
    print(f"| paravox.emotion(path) vs load + clip_scores | {1000 * s['file']:.1f} ms | {1000 * t['file']:.2f} ms | {s['file'] / t['file']:.0f}x |")
    print(f"| model alone on decoded samples | {1000 * s['samples']:.1f} ms | {1000 * t['samples']:.2f} ms | {s['samples'] / t['samples']:.0f}x |")
    print(f"(torch imported by the tiny path: {t['torch']})")
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", action="store_true", help="re-create the shipped tiny weights")
    ap.add_argument("--eval", action="store_true", help="print the model card's figures")
    ap.add_argument("--speed", action="store_true", help="only the size and one-core speed figures")
    ap.add_argument("--out", default=str(SHIPPED), help="--train: where to write (default: the shipped folder)")
    ap.add_argument("--model", default=str(SHIPPED), help="tiny model measured for size and speed")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--folds", type=int, nargs="*", default=None, help="RAVDESS folds (default: all six)")
    ap.add_argument("--jobs", type=int, default=2, help="processes (each trains on one thread)")
    ap.add_argument("--no-teacher-retrain", dest="teacher_retrain", action="store_false")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--no-speed", dest="speed_in_eval", action="store_false", help="--eval: skip the speed figures")
    g = ap.add_argument_group("student options (default: TinyOptions' defaults)")
    g.add_argument("--epochs", type=int, default=None, help="training epochs")
    g.add_argument("--crop", type=float, default=None, help="longest training crop in seconds (TinyOptions.crop_frames / 100)")
    g.add_argument("--tau", type=float, default=None, help="distillation temperature")
    g.add_argument("--stem", type=int, default=None, help="channels of the stem and first block")
    g.add_argument("--width", type=int, default=None, help="channels of the later blocks")
    g.add_argument("--copies", nargs="+", default=None, choices=["noise", "speed90", "speed110", "none"],
                   help="augmented copies of the CASIA, EmoDB and RAVDESS clips, each read with the teacher's "
                        "answer on it ('none': clean only); their Whisper features come from the feature cache "
                        "(python benchmarks/emotion_extract.py --augment clean noise speed90 speed110)")
    ap.add_argument("-o", "--output", help="also write the figures as JSON")
    args = ap.parse_args()
    if not (args.train or args.eval or args.speed):
        ap.error("give --train, --eval or --speed")
    result = None
    if args.train:
        cmd_train(args)
    if args.eval:
        result = cmd_eval(args)
    elif args.speed:
        result = {"model": describe(Path(args.model)), "speed": speed(args)}
    if args.output and result is not None:
        Path(args.output).write_text(json.dumps(result, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
