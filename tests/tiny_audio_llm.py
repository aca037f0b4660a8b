"""A tiny randomly initialised Qwen2-Audio and Qwen2.5-Omni (one layer, hidden size 16) with a
character-level tokenizer, built from configs in a second: the real transformers classes, processor
and chat template machinery that paravox's audio-LLM backend drives, without a download."""

from __future__ import annotations

import json
from pathlib import Path

def _char_tokenizer(text: str, specials: list[str], named: dict[str, str]):
    """A character-level tokenizer for ``text`` and three tags, with the chat's ``specials``
    (``named``: the processor's attribute names for some of them); returns it and its vocabulary."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    pieces = ["[laugh]", "[cough]", "[sigh]"] + sorted(set(text) - {" "}) + ["\n", " ", "<unk>"]
    vocab = {t: i for i, t in enumerate(specials + pieces)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"\[[a-z]+\]|."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens(specials)
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", extra_special_tokens=named), vocab

_AUDIO_TOKENS = {"audio_token": "<|AUDIO|>", "audio_bos_token": "<|audio_bos|>", "audio_eos_token": "<|audio_eos|>"}


def build_tiny_qwen2_audio(folder: Path, text: str, seed: int = 0):
    import torch
    from transformers import (Qwen2AudioConfig, Qwen2AudioForConditionalGeneration, Qwen2AudioProcessor,
                              WhisperFeatureExtractor)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|audio_bos|>", "<|AUDIO|>", "<|audio_eos|>"]
    tokenizer, vocab = _char_tokenizer(text, specials, _AUDIO_TOKENS)
    template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
                "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
                "{% if c['type'] == 'audio' %}Audio 1: <|audio_bos|><|AUDIO|><|audio_eos|>\n{% else %}{{ c['text'] }}{% endif %}"
                "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    processor = Qwen2AudioProcessor(feature_extractor=WhisperFeatureExtractor(feature_size=128), tokenizer=tokenizer,
                                    chat_template=template)
    torch.manual_seed(seed)
    config = Qwen2AudioConfig(
        audio_config=dict(d_model=16, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=32, num_mel_bins=128),
        text_config=dict(model_type="qwen2", vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096),
        audio_token_index=vocab["<|AUDIO|>"])
    model = Qwen2AudioForConditionalGeneration(config)
    model.generation_config.eos_token_id = vocab["<|im_end|>"]
    model.generation_config.pad_token_id = vocab["<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


#: Qwen2.5-Omni-7B's chat template (its chat_template.json), as AutoProcessor reads it.
OMNI_TEMPLATE = (
    "{% set audio_count = namespace(value=0) %}{% set image_count = namespace(value=0) %}"
    "{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: "
    "{% endif %}<|vision_bos|><|IMAGE|><|vision_eos|>"
    "{% elif content['type'] == 'audio' or 'audio' in content or 'audio_url' in content %}"
    "{% set audio_count.value = audio_count.value + 1 %}{% if add_audio_id %}Audio {{ audio_count.value }}: "
    "{% endif %}<|audio_bos|><|AUDIO|><|audio_eos|>"
    "{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_bos|><|VIDEO|><|vision_eos|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def build_tiny_qwen2_5_omni(folder: Path, text: str, seed: int = 0):
    """A tiny Qwen2.5-Omni laid out as the Qwen/Qwen2.5-Omni-7B repository is: config.json,
    the tokenizer's files, preprocessor_config.json (the Whisper feature extractor's and Qwen2-VL's
    image processor's keys, as the real one has), chat_template.json and spk_dict.pt. The talker is
not built."""
    import torch
    from transformers import Qwen2_5OmniConfig, Qwen2_5OmniForConditionalGeneration, WhisperFeatureExtractor
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>",
                "<|IMAGE|>", "<|VIDEO|>", "<|vision_bos|>", "<|vision_eos|>"]
    tokenizer, vocab = _char_tokenizer(text, specials, {
        **_AUDIO_TOKENS, "image_token": "<|IMAGE|>", "video_token": "<|VIDEO|>",
        "vision_bos_token": "<|vision_bos|>", "vision_eos_token": "<|vision_eos|>"})
    torch.manual_seed(seed)
    ids = dict(audio_token_index=vocab["<|AUDIO|>"], image_token_index=vocab["<|IMAGE|>"],
               video_token_index=vocab["<|VIDEO|>"], audio_start_token_id=vocab["<|audio_bos|>"],
               audio_end_token_id=vocab["<|audio_eos|>"], vision_start_token_id=vocab["<|vision_bos|>"],
               vision_end_token_id=vocab["<|vision_eos|>"], user_token_id=vocab["<|im_start|>"])
    config = Qwen2_5OmniConfig(
        thinker_config=dict(
            audio_config=dict(d_model=16, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=32,
                              num_mel_bins=128, output_dim=16),
            vision_config=dict(depth=1, hidden_size=16, intermediate_size=32, num_heads=2, out_hidden_size=16,
                               fullatt_block_indexes=[0]),
            text_config=dict(vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                             num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
                             rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 1, 1]}),
            **ids),
        enable_audio_output=False)
    model = Qwen2_5OmniForConditionalGeneration(config)
    for gen in (model.generation_config, model.thinker.generation_config):
        gen.eos_token_id = vocab["<|im_end|>"]
        gen.pad_token_id = vocab["<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    extractor = WhisperFeatureExtractor(feature_size=128).to_dict()
    image = {"image_processor_type": "Qwen2VLImageProcessor", "min_pixels": 3136, "max_pixels": 12845056,
             "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2}
    (folder / "preprocessor_config.json").write_text(json.dumps(
        {**extractor, **image, "processor_class": "Qwen2_5OmniProcessor"}, indent=2))
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": OMNI_TEMPLATE}))
    # The talker's voices: from_pretrained reads the file even when the talker is not built.
    torch.save({"Chelsie": {"bos_token": 0, "cond": torch.zeros(1, 4), "ref_mel": torch.zeros(1, 4, 80)}},
               folder / "spk_dict.pt")
    return folder
