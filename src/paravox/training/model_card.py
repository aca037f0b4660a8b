"""The events model's card (``MODEL_CARD.md``), written from its training report, so that every
figure in it comes from the command that trained the model.
"""

from __future__ import annotations

from typing import Any

from paravox.taxonomy import load_taxonomy
from paravox.training.classifier import CLASSIFIER_LAYERS
from paravox.training.detector import CHUNK_SECONDS, DETECTOR_LAYER, HOP_SECONDS

__all__ = ["CARRIED_SECTION", "TAG_SOURCES", "carried_section", "model_card"]

TAG_SOURCES = {
    "laugh": "Deeply `laughing` (20 clips) + EmoGator Amusement (750)",
    "sigh": "Deeply `sighing` (35) + EmoGator Relief (750)",
    "gasp": "EmoGator Surprise, negative and positive (1,500; some are interjections such as \"oh!\")",
}


#: A model card section kept when the card is rewritten: its table is printed by
#: ``benchmarks/events_mixtures.py`` (not by training), so it is updated by hand from that.
CARRIED_SECTION = "### The shipped labelling on the same mixtures"


#: Hand-maintained sections after it, carried over too (figures of benchmark scripts, not of training).
CARRIED_AFTER = ("### With the gate, in real speech", "### The laughter second opinion")


def carried_section(card: str) -> str:
    """``CARRIED_SECTION`` of an existing card and the :data:`CARRIED_AFTER` sections, each up to
    the next heading ('' if the first is absent)."""
    if CARRIED_SECTION not in card:
        return ""
    blocks = []
    for heading in (CARRIED_SECTION, *CARRIED_AFTER):
        if heading not in card:
            continue
        rest = card[card.index(heading):]
        ends = [i for i in (rest.find("\n## ", 1), rest.find("\n### ", 1), rest.find("\nSpeaker-independent 5-fold", 1))
                if i > 0]
        blocks.append(rest[: min(ends)].rstrip() if ends else rest.rstrip())
    return "\n\n".join(blocks) + "\n"


def model_card(report: dict[str, Any], command: str, carried: str = "") -> str:
    """The shipped model's card, written from the training report (so every figure comes from the
    command); ``carried`` (the :data:`CARRIED_SECTION` of the previous card) goes after the per-tag table."""
    tax = load_taxonomy()
    all_tags = list(tax.tags)
    c, d = report["classifier"], report["detector"]
    lines = [
        "# paravox events model (classifier + detector)",
        "",
        "Two small heads on the frozen Whisper-base encoder (the model paravox already ships for",
        "transcription; its states computed by ONNX Runtime in float32, equal to the NumPy reference",
        "encoder to 1e-5), the heads run in NumPy:",
        "",
        f"- `classifier/`: one isolated vocalization -> tag. Input: mean+std of encoder layers "
        f"{', '.join(map(str, CLASSIFIER_LAYERS))} over the clip; one hidden layer (256, ReLU); softmax with a fitted "
        f"temperature ({c['temperature']:.2f})."
        + (f" Trained also on {' and '.join(c['augment'])} copies of its training clips (speed perturbation: "
           "tempo and pitch move together)." if c.get("augment") else ""),
        f"- `detector/`: a recording -> per-tag probability every 20 ms. Input: layer-{DETECTOR_LAYER} states of "
        f"{CHUNK_SECONDS:g}-s chunks every {HOP_SECONDS:g} s (unpadded); two 1-D convolutions; per-tag thresholds "
        "chosen on validation mixtures; runs shorter than 0.1 s dropped, gaps under 0.2 s joined.",
        "- How events are named (the shipped setting): the detector's frame scores mark regions of vocal "
        "activity (any tag above 0.3); each region is named by classifier and detector together and kept "
        "only when both pick the same tag. On validation mixtures this ties frame thresholds on event F1 "
        "with far higher precision (`python benchmarks/events_mixtures.py` prints both).",
        "- Both choices were made on validation mixtures (training voices): the encoder layer "
        "(`python benchmarks/experiments/events_detector_layers.py`: deeper layers scored lower) and the labelling "
        "(`python benchmarks/events_mixtures.py --sweep --sets val`: a weighted vote, or the classifier alone, "
        "scored lower).",
        "",
        "## Tags",
        "",
        "| tag | trained on real examples | data |",
        "|---|---|---|",
    ]
    trained = set(report["tags"])
    for tag in all_tags:
        if tag in trained:
            src = TAG_SOURCES.get(tag, "Deeply Nonverbal Vocalization sample")
            lines.append(f"| `{tag}` | yes | {src} |")
        else:
            lines.append(f"| {tag} | no: never emitted | — |")
    lines += [
        "",
        "## Data and licences",
        "",
        "- **Deeply Nonverbal Vocalization Dataset** (sample subset in the paravox data pack): CC BY-NC-ND 4.0. "
        "Non-commercial; no derivatives may be *distributed*. Weights trained on it are arguably a derivative: "
        "treat this model as **research / non-commercial use only**, and do not redistribute it in a "
        "commercial product. Retrain on data you may use (`paravox train events`) for anything else.",
        "- **EmoGator** vocal bursts (contributors 000001-000250): Apache-2.0.",
        "- Speech in the detector's mixtures: CASIA (licence unclear, research use), EmoDB (no licence stated, "
        "research use), RAVDESS (CC BY-NC-SA 4.0).",
        "",
        "Held out from all training (the figures below are measured on these voices only): "
        + "; ".join(f"{k}: {v}" for k, v in report["held_out"].items())
        + ".",
        "",
        "## Measured",
        "",
        f"Classifier on held-out voices: UAR {100 * c['held_out_all']['uar']:.1f}%, macro-F1 "
        f"{100 * c['held_out_all']['macro_f1']:.1f}% over {c['held_out_all']['n']} clips (Deeply only: UAR "
        f"{100 * c['held_out_deeply']['uar']:.1f}%, {c['held_out_deeply']['n']} clips).",
        "",
        f"Detector on {d['mixtures']['test']} held-out mixtures (held-out voices and speakers): event-based F1 "
        f"{100 * d['held_out_event_f1']:.1f}% (P {100 * d['held_out_event_precision']:.1f}%, R "
        f"{100 * d['held_out_event_recall']:.1f}%, 200-ms onset collar), segment-based F1 (1 s) "
        f"{100 * d['held_out_segment_f1']:.1f}%.",
        "",
        "Per tag, with per-tag frame thresholds (the training report):",
        "",
        "| tag | event F1 (held-out mixtures) | threshold |",
        "|---|---|---|",
    ]
    for tag in report["tags"]:
        f1 = d["per_tag_event_f1"].get(tag)
        lines.append(f"| {tag} | {'—' if f1 is None else f'{100 * f1:.1f}%'} | {d['thresholds'][tag]:.1f} |")
    if carried:
        lines += ["", carried.rstrip()]
    lines += [
        "",
        "Speaker-independent 5-fold figures of the classifier (voc2vec protocol) and the tagged-transcript",
        "figures on real speech are in docs/benchmarks.md (`paravox bench classify`, `paravox bench nvasr`).",
        "",
        "## Reproduce",
        "",
        "```",
        command,
        "```",
        "",
        f"Deterministic for a seed (seed {report['seed']}; torch single-threaded, deterministic algorithms); "
        + (f"this copy's detector was trained alone ({report['seconds'] / 60:.0f} min on a 2-core CPU) with the same "
           "command plus `--keep-classifier src/paravox/vocal_events/weights`, which reuses the classifier of the "
           "model before it, trained by the same recipe. The full command should give the same model; it was not "
           "re-run as one piece."
           if c.get("kept") else
           f"took {report['seconds'] / 60:.0f} min on a 2-core CPU (features cached under `~/.cache/paravox/features`)."
           if "full_run_seconds" not in d else
           f"the full run took {d['full_run_seconds'] / 60:.0f} min on a 2-core CPU. This copy's classifier was then "
           f"retrained alone ({report['seconds'] / 60:.0f} min) with the same command plus `--keep-detector "
           "src/paravox/vocal_events/weights`, which reuses the detector. The detector does not depend on the "
           "classifier and its training is deterministic, so the full command should give the same model; it was "
           "not re-run for this copy."),
        "",
    ]
    return "\n".join(lines)
