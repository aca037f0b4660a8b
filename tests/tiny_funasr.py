"""Tiny randomly initialised FunASR models, laid out as their hub repositories are: a
SenseVoice-Small (SANM encoder of two blocks plus one, width 16; the real model's 80-mel,
7/6 low-frame-rate front end and CMVN file; a BPE tokenizer trained here on a few lines, with
SenseVoice's language, emotion, event and text-norm tokens) and an emotion2vec+ (one block
before and one after, width 16, a 16-channel conv front end with the real strides; the nine
labels of its ``tokens.txt``). Each builds in about a second and is loaded by ``funasr.AutoModel``
through the same ``configuration.json`` -> ``config.yaml`` -> ``model.pt`` path as the real one.

SenseVoice's config.yaml and configuration.json are the ones FunASR's model-registration tutorial
prints, with the sizes made tiny and ``dither: 0.0`` in the front end, so that the same audio gives
the same features twice and a test can ask the model again. emotion2vec+'s carry every key FunASR's
``Emotion2vec`` reads, written after the released config (not copied from it: no network here).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

#: SenseVoice's special tokens (its BPE model carries them as pieces of their own).
SENSEVOICE_SPECIALS = (
    ["<|zh|>", "<|en|>", "<|yue|>", "<|ja|>", "<|ko|>", "<|nospeech|>"]
    + ["<|HAPPY|>", "<|SAD|>", "<|ANGRY|>", "<|NEUTRAL|>", "<|FEARFUL|>", "<|DISGUSTED|>", "<|SURPRISED|>",
       "<|EMO_UNKNOWN|>"]
    + ["<|Speech|>", "<|BGM|>", "<|Laughter|>", "<|Applause|>", "<|Cough|>", "<|Sneeze|>", "<|Breath|>", "<|Cry|>"]
    + ["<|withitn|>", "<|woitn|>"]
)
SENSEVOICE_BPE = "chn_jpn_yue_eng_ko_spectok.bpe.model"
#: emotion2vec+'s tokens.txt: its nine labels, in its order.
EMOTION2VEC_TOKENS = ["生气/angry", "厌恶/disgusted", "恐惧/fearful", "开心/happy", "中立/neutral", "其他/other",
                      "难过/sad", "吃惊/surprised", "<unk>"]

_LFR_DIM = 80 * 7  # 80 mel bins, 7 frames stacked (lfr_m)


def _write(folder: Path, config: dict, metas: dict, task: str, model, extra: dict[str, bytes]) -> Path:
    import torch
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    (folder / "configuration.json").write_text(json.dumps({
        "framework": "pytorch", "task": task, "model": {"type": "funasr"}, "pipeline": {"type": "funasr-pipeline"},
        "file_path_metas": {"init_param": "model.pt", "config": "config.yaml", **metas}}, indent=2))
    torch.save(model.state_dict(), folder / "model.pt")
    for name, data in extra.items():
        (folder / name).write_bytes(data)
    return folder


def _bpe_model(lines: list[str], vocab_size: int) -> bytes:
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=buf, vocab_size=vocab_size,
                                   model_type="bpe", character_coverage=1.0, user_defined_symbols=SENSEVOICE_SPECIALS,
                                   minloglevel=2)
    return buf.getvalue()


def _cmvn(shift: float, scale: float) -> bytes:
    """``am.mvn`` in Kaldi's nnet text form, as SenseVoice ships it (AddShift, then Rescale)."""
    row = lambda v: " ".join([f"{v:.6f}"] * _LFR_DIM)  # noqa: E731
    return (f"<Nnet>\n<Splice> {_LFR_DIM} {_LFR_DIM}\n[ 0 ]\n<AddShift> {_LFR_DIM} {_LFR_DIM}\n"
            f"<LearnRateCoef> 0 [ {row(shift)} ]\n<Rescale> {_LFR_DIM} {_LFR_DIM}\n"
            f"<LearnRateCoef> 0 [ {row(scale)} ]\n</Nnet>\n").encode()


def build_tiny_sensevoice(folder: Path, seed: int = 0, lines: list[str] | None = None) -> Path:
    """A SenseVoice-Small repository in ``folder``: config.yaml, configuration.json, model.pt,
    am.mvn and the BPE model, the weights drawn with ``seed``."""
    import torch
    from funasr.register import tables
    import funasr.models.sense_voice.model  # noqa: F401 - registers SenseVoiceSmall

    lines = lines or ["我们来助早齿大人一臂之力", "哈哈今天真好", "okay fine that is so funny"]
    bpe = _bpe_model(lines, vocab_size=64)
    config = {
        "encoder": "SenseVoiceEncoderSmall",
        "encoder_conf": {"output_size": 16, "attention_heads": 2, "linear_units": 32, "num_blocks": 2, "tp_blocks": 1,
                         "dropout_rate": 0.1, "positional_dropout_rate": 0.1, "attention_dropout_rate": 0.1,
                         "input_layer": "pe", "pos_enc_class": "SinusoidalPositionEncoder", "normalize_before": True,
                         "kernel_size": 11, "sanm_shfit": 0, "selfattention_layer_type": "sanm"},
        "model": "SenseVoiceSmall",
        "model_conf": {"length_normalized_loss": True, "sos": 1, "eos": 2, "ignore_id": -1},
        "tokenizer": "SentencepiecesTokenizer",
        "tokenizer_conf": {"bpemodel": None, "unk_symbol": "<unk>", "split_with_space": True},
        "frontend": "WavFrontend",
        "frontend_conf": {"fs": 16000, "window": "hamming", "n_mels": 80, "frame_length": 25, "frame_shift": 10,
                          "lfr_m": 7, "lfr_n": 6, "cmvn_file": None, "dither": 0.0},
    }
    torch.manual_seed(1000 + seed)  # not FunASR's own seed (0), so loading model.pt is what sets the weights
    model = tables.model_classes["SenseVoiceSmall"](
        encoder=config["encoder"], encoder_conf=config["encoder_conf"], input_size=_LFR_DIM, vocab_size=64,
        **config["model_conf"])
    metas = {"tokenizer_conf": {"bpemodel": SENSEVOICE_BPE}, "frontend_conf": {"cmvn_file": "am.mvn"}}
    # log-mel energies of 16-bit-scaled speech sit around 10 with a spread of a few units
    return _write(folder, config, metas, "auto-speech-recognition", model,
                  {SENSEVOICE_BPE: bpe, "am.mvn": _cmvn(-10.0, 0.3)})


def build_tiny_emotion2vec(folder: Path, seed: int = 0) -> Path:
    """An emotion2vec+ repository in ``folder``: config.yaml, configuration.json, model.pt and
    tokens.txt, the weights drawn with ``seed``."""
    import torch
    from funasr.register import tables
    import funasr.models.emotion2vec.model  # noqa: F401 - registers Emotion2vec

    width, heads = 16, 2
    audio = {
        "type": "AUDIO", "prenet_depth": 1, "prenet_layerdrop": 0.05, "prenet_dropout": 0.1,
        "start_drop_path_rate": 0.0, "end_drop_path_rate": 0.0, "num_extra_tokens": 10, "init_extra_token_zero": True,
        "mask_noise_std": 0.01, "mask_prob_min": None, "mask_prob": 0.5, "inverse_mask": False, "mask_prob_adjust": 0.05,
        "keep_masked_pct": 0.0, "mask_length": 5, "add_masks": False, "remove_masks": False, "mask_dropout": 0.0,
        "encoder_zero_mask": True, "mask_channel_prob": 0.0, "mask_channel_length": 64, "ema_local_encoder": False,
        "local_grad_mult": 1.0, "use_alibi_encoder": True, "alibi_scale": 1.0, "learned_alibi": False,
        "alibi_max_pos": None, "learned_alibi_scale": True, "learned_alibi_scale_per_head": True,
        "learned_alibi_scale_per_layer": False, "num_alibi_heads": heads, "model_depth": 1,
        "decoder": {"decoder_dim": 8, "decoder_groups": 2, "decoder_kernel": 3, "decoder_layers": 1,
                    "input_dropout": 0.1, "add_positions_masked": False, "add_positions_all": False,
                    "decoder_residual": True, "projection_layers": 1, "projection_ratio": 2.0},
        "extractor_mode": "layer_norm",
        # the real strides (one frame per 20 ms), 16 channels instead of 512
        "feature_encoder_spec": "[(16, 10, 5)] + [(16, 3, 2)] * 4 + [(16, 2, 2)] + [(16, 2, 2)]",
        "conv_pos_width": 9, "conv_pos_groups": 2, "conv_pos_depth": 1, "conv_pos_pre_ln": False,
    }
    config = {
        "model": "Emotion2vec",
        "model_conf": {
            "loss_beta": 0.0, "loss_scale": None, "depth": 1, "start_drop_path_rate": 0.0, "end_drop_path_rate": 0.0,
            "num_heads": heads, "norm_eps": 1e-05, "norm_affine": True, "encoder_dropout": 0.1, "post_mlp_drop": 0.1,
            "attention_dropout": 0.1, "activation_dropout": 0.0, "dropout_input": 0.0, "layerdrop": 0.05,
            "embed_dim": width, "mlp_ratio": 2.0, "layer_norm_first": False, "average_top_k_layers": 1,
            "end_of_block_targets": False, "clone_batch": 1, "normalize": True, "modalities": {"audio": audio},
        },
        "tokenizer": "CharTokenizer",
        "tokenizer_conf": {"unk_symbol": "<unk>", "split_with_space": True},
    }
    torch.manual_seed(1000 + seed)
    model = tables.model_classes["Emotion2vec"](model_conf=config["model_conf"], vocab_size=len(EMOTION2VEC_TOKENS))
    tokens = ("\n".join(EMOTION2VEC_TOKENS) + "\n").encode("utf-8")
    return _write(folder, config, {"tokenizer_conf": {"token_list": "tokens.txt"}}, "emotion-recognition", model,
                  {"tokens.txt": tokens})
