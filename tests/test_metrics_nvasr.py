import itertools
import json
import random
from pathlib import Path

import pytest

from paravox.evaluation.io import IdMismatchError
from paravox.evaluation.nvasr import EditCounts, edit_counts, evaluate_nvasr, tag_scores
from paravox.evaluation.nvvspeech import (
    TagEvent,
    boundary_map,
    count_position_matches,
    evaluate_nvvspeech,
    lexical_units,
    normalize_language,
    parse_transcript,
    track1_score,
    utterance_ntd,
)
from paravox.evaluation.text import analyze_text, tokenize

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


# ------------------------------------------------------------------ tokenisation


def test_chinese_with_tags_and_no_spaces():
    assert tokenize("我听到这个消息时[sigh]简直") == [
        "我", "听", "到", "这", "个", "消", "息", "时", "[sigh]", "简", "直"
    ]
    assert tokenize("我听到这个消息时[sigh]简直", keep_tags=False) == [
        "我", "听", "到", "这", "个", "消", "息", "时", "简", "直"
    ]


def test_traditional_folds_to_simplified():
    assert tokenize("這個") == tokenize("这个") == ["这", "个"]
    assert edit_counts(tokenize("這個說話"), tokenize("这个说话")).errors == 0


def test_latin_words_digits_case_and_punctuation():
    assert tokenize("I have 3 Apples, OK?") == ["i", "have", "3", "apples", "ok"]
    # a digit run is its own token next to CJK; letters+digits form one run
    assert tokenize("2024年GPT4发布") == ["2024", "年", "gpt4", "发", "布"]
    assert tokenize("你好，世界！……") == tokenize("你好 世界") == ["你", "好", "世", "界"]
    assert tokenize("don't stop") == ["dont", "stop"]
    assert tokenize("well-known 3.5") == ["well", "known", "3", "5"]
    assert tokenize("ＯＫ１２") == ["ok12"]  # full-width folded by NFKC


def test_kana_and_hangul_are_one_token_per_character():
    assert tokenize("カタカナ ｶﾅ") == ["カ", "タ", "カ", "ナ", "カ", "ナ"]
    assert tokenize("한국어 text") == ["한", "국", "어", "text"]


def test_tags_in_any_style_become_canonical_tokens():
    expected = ["[laugh]", "好"]
    for text in ("[laugh]好", "[Laughter]好", "<laughter>好", "<|Laughter|>好", "(laughs) 好"):
        assert tokenize(text) == expected, text
    # SenseVoice control tokens and interjection tags are not events: dropped
    assert tokenize("<|zh|><|NEUTRAL|><|Speech|><|woitn|>好[Surprise-oh]") == ["好"]


def test_unknown_tags_are_tokens_of_their_own_label_and_reported():
    result = analyze_text("[Inaudible]好[laugh]")
    assert result.tokens == ("[inaudible]", "好", "[laugh]")
    assert result.tags == ("inaudible", "laugh")
    assert result.unknown_tags == ("inaudible",)
    assert result.text_tokens == ["好"]


# ------------------------------------------------------------------ edit distance


def test_edit_counts_hand_examples():
    # kitten -> sitting: k->s (S), e->i (S), +g (I)
    assert edit_counts("kitten", "sitting") == EditCounts(2, 0, 1, 6, 7)
    # a tag moved two places: delete it here, insert it there (no cheaper alignment)
    ref = ["我", "[laugh]", "听", "到", "了"]
    hyp = ["我", "听", "到", "[laugh]", "了"]
    assert edit_counts(ref, hyp) == EditCounts(0, 1, 1, 5, 5)
    assert edit_counts([], ["a"]) == EditCounts(0, 0, 1, 0, 1)
    assert edit_counts(["a", "b"], []) == EditCounts(0, 2, 0, 2, 0)
    assert edit_counts([], []) == EditCounts()


def _levenshtein(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def test_edit_counts_agree_with_plain_dynamic_programming():
    rng = random.Random(0)
    for _ in range(300):
        a = [rng.choice("abcd") for _ in range(rng.randint(0, 12))]
        b = [rng.choice("abcd") for _ in range(rng.randint(0, 12))]
        c = edit_counts(a, b)
        assert c.errors == _levenshtein(a, b)
        # a consistent alignment: every ref token is a hit, S or D; every hyp token a hit, S or I
        assert c.hits + c.substitutions + c.deletions == len(a)
        assert c.hits + c.substitutions + c.insertions == len(b)


# ------------------------------------------------------------------ corpus metrics

# The worked example of docs/metrics.md.
DOC_REFS = {
    "u1": "我[laugh]听到了",
    "u2": "这个[cough]好[cough]",
    "u3": "[sigh]算了吧[chuckle]",
}
DOC_HYPS = {
    "u1": "我听到[laugh]了。",
    "u2": "這個[cough]好",
    "u3": "[laugh]算了[sigh]",
}


def test_worked_example_from_docs():
    r = evaluate_nvasr(DOC_REFS, DOC_HYPS)
    # Joint tokens: u1 我 [laugh] 听 到 了 (5) vs 我 听 到 [laugh] 了 -> D1 I1
    #               u2 这 个 [cough] 好 [cough] (5) vs 这 个 [cough] 好 -> D1 (Traditional folded)
    #               u3 [sigh] 算 了 吧 [chuckle] (5) vs [laugh] 算 了 [sigh] -> S2 D1
    # Joint CER = (2 + 1 + 3) / 15 = 0.4
    assert r.joint == EditCounts(2, 3, 1, 15, 13)  # hyp tokens 5 + 4 + 4
    assert r.joint_cer == pytest.approx(0.4)
    # Text: u1 4 tokens, 0 errors; u2 3 tokens, 0; u3 算 了 吧 vs 算 了 -> D1. 1 / 10
    assert r.text == EditCounts(0, 1, 0, 10, 9)
    assert r.text_cer == pytest.approx(0.1)
    # exact match: u1 [laugh]==[laugh] yes; u2 [cough,cough]!=[cough]; u3 order/type differ
    assert r.n_exact == 1 and r.nv_exact_match == pytest.approx(1 / 3)
    # tags: ref 5 (laugh, cough x2, sigh, chuckle), hyp 4 (laugh, cough, laugh, sigh)
    # TP = u1 1 + u2 min(2,1)=1 + u3 sigh 1 (laugh != chuckle) = 3
    # P = 3/4 = 0.75, R = 3/5 = 0.6, F1 = 2*3/(5+4) = 0.6667
    assert (r.tag.tp, r.tag.n_ref, r.tag.n_hyp) == (3, 5, 4)
    assert r.tag.precision == pytest.approx(0.75)
    assert r.tag.recall == pytest.approx(0.6)
    assert r.tag.f1 == pytest.approx(2 / 3)
    # parent level: chuckle -> laugh, so u3's [laugh] now matches: TP = 4
    # P = 4/4 = 1, R = 4/5 = 0.8, F1 = 8/9 = 0.8889
    assert r.parent_tag.precision == pytest.approx(1.0)
    assert r.parent_tag.recall == pytest.approx(0.8)
    assert r.parent_tag.f1 == pytest.approx(8 / 9)
    d = r.to_dict()
    assert list(d["per_class"]) == ["chuckle", "cough", "laugh", "sigh"]  # taxonomy order
    # laugh: ref 1, hyp 2, tp 1 -> P 0.5, R 1, F1 2/3; cough: ref 2, hyp 1, tp 1 -> P 1, R 0.5
    assert d["per_class"]["laugh"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert d["per_class"]["cough"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
    assert d["per_class"]["chuckle"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert d["parent_per_class"]["laugh"] == pytest.approx({"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2})


def test_to_dict_has_documented_keys_and_is_json():
    d = evaluate_nvasr(DOC_REFS, DOC_HYPS).to_dict(per_utterance=True)
    for key in (
        "joint_cer", "text_cer", "nv_exact_match", "tag_precision", "tag_recall", "tag_f1",
        "parent_tag_precision", "parent_tag_recall", "parent_tag_f1", "per_class", "n",
        "unknown_tags", "joint_errors", "text_errors",
    ):
        assert key in d
    assert d["n"] == 3 and d["unknown_tags"] == {}
    assert d["utterances"][0]["id"] == "u1" and d["utterances"][0]["nv_exact_match"] is True
    json.dumps(d, allow_nan=False)


def test_empty_hypothesis_gives_cer_one():
    r = evaluate_nvasr({"a": "你好[laugh]"}, {"a": ""})
    # 3 reference tokens, all deleted: 3/3
    assert r.joint == EditCounts(0, 3, 0, 3, 0) and r.joint_cer == 1.0
    assert r.text_cer == 1.0
    assert r.nv_exact_match == 0.0 and r.tag.recall == 0.0 and r.tag.precision == 0.0


def test_empty_reference_counts_insertions_and_undefined_rate_is_none():
    # corpus level: the empty reference adds 0 tokens and 1 insertion -> 1 / 2
    r = evaluate_nvasr({"a": "", "b": "你好"}, {"a": "嗯", "b": "你好"})
    assert r.joint_cer == pytest.approx(0.5)
    # no reference tokens at all: the rate is undefined
    r = evaluate_nvasr({"a": ""}, {"a": "嗯"})
    assert r.joint_cer is None and r.to_dict()["joint_cer"] is None
    assert evaluate_nvasr({"a": ""}, {"a": ""}).joint_cer is None


def test_utterances_without_reference_tags_count_in_exact_match():
    refs = {"a": "你好", "b": "你好", "c": "[cough]你好"}
    hyps = {"a": "你好", "b": "你好[laugh]", "c": "[cough]你好"}
    r = evaluate_nvasr(refs, hyps)
    # a: no tags on either side -> correct; b: spurious tag -> wrong; c: correct
    assert r.n_without_ref_tags == 2
    assert r.n_exact == 2 and r.nv_exact_match == pytest.approx(2 / 3)


def test_repeated_tags_and_order():
    refs = {"a": "[cough][cough]好[sigh]"}
    # same multiset, different order: exact match fails, tag F1 is perfect
    r = evaluate_nvasr(refs, {"a": "[sigh]好[cough][cough]"})
    assert r.nv_exact_match == 0.0
    assert r.tag.f1 == 1.0
    # one cough missing: TP = 2 of ref 3, hyp 2 -> P 1, R 2/3
    r = evaluate_nvasr(refs, {"a": "[cough]好[sigh]"})
    assert r.tag.precision == 1.0 and r.tag.recall == pytest.approx(2 / 3)


def test_hypothesis_tags_in_other_styles_and_unknown_tags():
    refs = {"a": "[laugh]好的[cough]", "b": "走吧"}
    hyps = {"a": "<|Laughter|>好的(coughs)", "b": "走吧[Inaudible]"}
    r = evaluate_nvasr(refs, hyps)
    assert r.joint.errors == 1  # only the unknown tag, inserted as token [inaudible]
    assert r.text_cer == 0.0
    assert r.unknown_tags == {"inaudible": {"ref": 0, "hyp": 1}}
    # unknown tags are a class of their own: a false positive
    assert r.tag.precision == pytest.approx(2 / 3) and r.tag.recall == 1.0
    assert r.n_exact == 1


def test_tag_scores_micro_equals_sum_over_classes():
    micro, per_class = tag_scores([["a", "b"], ["a"]], [["a"], ["b", "b"]])
    assert micro.tp == sum(c.tp for c in per_class.values()) == 1
    assert micro.n_ref == 3 and micro.n_hyp == 3


def test_id_mismatch_and_empty_input():
    with pytest.raises(IdMismatchError, match="missing") as info:
        evaluate_nvasr({"a": "x", "b": "y"}, {"a": "x", "c": "z"})
    assert info.value.missing == ["b"] and info.value.extra == ["c"]
    with pytest.raises(ValueError):
        evaluate_nvasr({}, {})


def _mnv17(name):
    path = SHARED_DATA / "nvasr" / "mnv17" / name
    if not path.exists():
        pytest.skip("MNV-17 transcripts not present in the shared data pack")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {row["filename"]: row["txt"] for row in rows}


def test_mnv17_perfect_and_tagless_predictions():
    refs = _mnv17("test.jsonl")
    r = evaluate_nvasr(refs, refs, source="mnv17")
    assert r.n == 190 and r.joint_cer == 0.0 and r.nv_exact_match == 1.0 and r.tag.f1 == 1.0
    # 300 tags (the README's table) + 5375 text tokens
    assert r.joint.ref_tokens == 5675 and r.text.ref_tokens == 5375
    # a transcript without tags (test_no_oral.jsonl): every tag is a deletion, text is perfect
    r = evaluate_nvasr(refs, _mnv17("test_no_oral.jsonl"), source="mnv17")
    assert r.joint == EditCounts(0, 300, 0, 5675, 5375)
    assert r.text_cer == 0.0 and r.nv_exact_match == 0.0 and r.tag.recall == 0.0


# ------------------------------------------------------------------ NVVSpeech Track 1 (position-aware)


def _t1(ref, hyp, language):
    return evaluate_nvvspeech({"u": ref}, {"u": hyp}, languages=language)


def test_lexical_units_follow_the_challenge():
    assert lexical_units("I’m OK, well-known 3.5!", "en") == ["i'm", "ok", "well", "known", "3", "5"]
    # Chinese: one unit per character, Latin letters and digits included, punctuation dropped
    assert lexical_units("你好，OK 2个！", "zh") == ["你", "好", "o", "k", "2", "个"]
    p = parse_transcript("That was [Laughter] surprising.", "en")
    assert p.lexical == ("that", "was", "surprising")
    assert p.tagged == ("that", "was", "[laugh]", "surprising")
    assert p.events == (TagEvent("laugh", 2, 0),)
    # the challenge's tag names map onto canonical tags
    assert [e.tag for e in parse_transcript("a [throat clearing] b [lipsmack]", "en").events] == ["ahem", "smack"]


def test_languages_from_codes_or_reference_text():
    assert normalize_language("en-US") == "en" and normalize_language("zh") == "zh"
    assert normalize_language("cmn") == "zh" and normalize_language(None, "你好 OK") == "zh"
    assert normalize_language(None, "hello there") == "en" and normalize_language("de", "Hallo") == "en"


def test_tag_at_the_right_place_scores_100():
    r = _t1("That was [laugh] funny.", "that was [laugh] funny", "en")
    assert (r.pooled.counts.tp, r.f1_micro, r.mntd, r.err) == (1, 1.0, 0.0, 0.0)
    assert r.track1_score == 100.0


def test_english_tag_two_words_off_counts_three_words_off_does_not():
    ref = "a b [laugh] c d e f"  # 6 words, tag at position 2; 7 tagged tokens
    # 2 words off (position 4): a true positive; NTD = 2/6; tagged WER = 2 edits / 7
    r = _t1(ref, "a b c d [laugh] e f", "en")
    assert r.f1_micro == 1.0
    assert r.mntd == pytest.approx(2 / 6)
    assert r.err == pytest.approx(2 / 7)
    assert r.track1_score == pytest.approx(100 * (0.7 + 0.2 * (1 - 1 / 3) + 0.1 * (1 - 2 / 7)))  # 90.476
    # 3 words off (position 5): no true positive, P = R = F1 = 0; NTD = 3/6
    r = _t1(ref, "a b c d e [laugh] f", "en")
    assert r.pooled.counts.tp == 0 and r.f1_micro == 0.0
    assert r.mntd == pytest.approx(0.5)
    assert r.track1_score == pytest.approx(100 * (0.2 * 0.5 + 0.1 * (1 - 2 / 7)))  # 17.143
    # the bag-of-tags F1 of the same pair is perfect: only the position metric sees the shift
    assert evaluate_nvasr({"u": ref}, {"u": "a b c d e [laugh] f"}).tag.f1 == 1.0


def test_wrong_tag_and_missing_tag():
    # wrong tag: FP 1, FN 1, NTD 1 (a different tag is a maximal error); WER 1 sub / 3 tokens
    r = _t1("a [laugh] b", "a [cough] b", "en")
    c = r.pooled.counts
    assert (c.tp, c.n_hyp - c.tp, c.n_ref - c.tp) == (0, 1, 1)
    assert r.mntd == 1.0 and r.err == pytest.approx(1 / 3)
    assert r.track1_score == pytest.approx(100 * 0.1 * (2 / 3))  # 6.667
    # missing tag: FN 1, no hypothesis events; NTD 1; WER 1 deletion / 3 tokens
    r = _t1("a [laugh] b", "a b", "en")
    assert (r.pooled.counts.tp, r.pooled.counts.n_hyp, r.pooled.counts.n_ref) == (0, 0, 1)
    assert r.mntd == 1.0 and r.err == pytest.approx(1 / 3)
    assert r.track1_score == pytest.approx(20 / 3)


def test_extra_tag_halves_precision_and_ntd():
    r = _t1("a [laugh] b", "a [laugh] b [cough]", "en")
    assert r.pooled.counts.precision == 0.5 and r.pooled.counts.recall == 1.0
    assert r.f1_micro == pytest.approx(2 / 3)
    assert r.mntd == pytest.approx(0.5)  # (0 + 1 for the extra event) / max(1, 2)


def test_chinese_collar_is_five_characters():
    ref = "我听到这个消息[sigh]简直不敢相信"  # 13 characters, tag at 7; 14 tagged tokens
    r = _t1(ref, "我听到这个消息简直不敢[sigh]相信", "zh")  # at 11: 4 characters off
    assert r.languages["zh"].collar == 5
    assert r.f1_micro == 1.0
    assert r.mntd == pytest.approx(4 / 13)
    assert r.err == pytest.approx(2 / 14)
    assert r.track1_score == pytest.approx(100 * (0.7 + 0.2 * (9 / 13) + 0.1 * (6 / 7)))  # 92.418
    r = _t1(ref, "我听到这个消息简直不敢相信[sigh]", "zh")  # at 13: 6 characters off
    assert r.f1_micro == 0.0 and r.mntd == pytest.approx(6 / 13)
    # the same 4-unit shift in English words is outside the 2-word collar
    r = _t1("a [sigh] b c d e f", "a b c d e [sigh] f", "en")
    assert r.f1_micro == 0.0


def test_positions_are_projected_through_the_word_alignment():
    # a reference word the hypothesis lacks does not move a tag written before it
    assert boundary_map(["a", "b", "c"], ["a", "c"]) == [0, 1, 3]
    r = _t1("a [cough] b c", "a [cough] c", "en")
    assert r.utterances[0].hyp_positions == (("cough", 1),)
    # inserted and substituted words shift nothing either
    r = _t1("a [laugh] b", "x y a [laugh] b", "en")
    assert r.utterances[0].hyp_positions == (("laugh", 1),) and r.f1_micro == 1.0
    r = _t1("我们[laugh]走吧", "我门[laugh]走吧", "zh")
    assert r.utterances[0].hyp_positions == (("laugh", 2),) and r.mntd == 0.0


def test_swapped_order_is_seen_by_mntd_not_by_f1():
    # laugh@1, cough@3 (4 words) against cough@1, laugh@3: each same-tag pair is 2 words
    # apart, inside the English collar, so F1 = 1; the monotone NTD alignment pairs
    # laugh-cough and cough-laugh (cost 1 + 1) rather than insert + move + delete
    # (1 + 2/4 + 1): NTD = 2 / 2 = 1.
    r = _t1("a [laugh] b c [cough] d", "a [cough] b c [laugh] d", "en")
    assert r.f1_micro == 1.0 and r.mntd == 1.0


def test_corpus_pooling_languages_and_untagged_references():
    refs = {"e1": "a [laugh] b", "e2": "no tags here", "z1": "你好[cough]", "z2": "走吧"}
    hyps = {"e1": "a [laugh] b", "e2": "no [sigh] tags here", "z1": "你好", "z2": "走吧"}
    r = evaluate_nvvspeech(refs, hyps)  # languages from the text
    en, zh = r.languages["en"], r.languages["zh"]
    # en: TP 1, FP 1 (the sigh on an untagged reference), FN 0 -> F1 2/3; mNTD only over e1 = 0
    assert (en.counts.tp, en.counts.n_hyp, en.counts.n_ref) == (1, 2, 1)
    assert en.f1_micro == pytest.approx(2 / 3) and en.mntd == 0.0 and len(en.ntds) == 1
    # en tagged WER: e1 0 / 3, e2 1 insertion / 3 -> 1/6
    assert en.err == pytest.approx(1 / 6)
    # zh: FN 1 -> F1 0; mNTD 1 (z1 only); CER 1 / (3 + 2)
    assert zh.f1_micro == 0.0 and zh.mntd == 1.0 and zh.err == pytest.approx(0.2)
    s_en = 100 * (0.7 * 2 / 3 + 0.2 + 0.1 * 5 / 6)
    s_zh = 100 * (0.1 * 0.8)
    assert en.track1_score == pytest.approx(s_en) and zh.track1_score == pytest.approx(s_zh)
    assert r.track1_score == pytest.approx((s_en + s_zh) / 2)
    # pooled over languages: TP 1 of 2 hypothesis and 2 reference events
    assert r.f1_micro == pytest.approx(0.5)
    assert r.mntd == pytest.approx(0.5)


def _brute_matches(refs, hyps, collar):
    best = 0
    for k in range(min(len(refs), len(hyps)), 0, -1):
        for rs in itertools.combinations(range(len(refs)), k):
            for hs in itertools.permutations(range(len(hyps)), k):
                if all(abs(refs[a] - hyps[b]) <= collar for a, b in zip(rs, hs)):
                    return k
    return best


def test_position_matching_is_a_maximum_one_to_one_matching():
    rng = random.Random(1)
    for _ in range(200):
        refs = [rng.randint(0, 12) for _ in range(rng.randint(0, 4))]
        hyps = [rng.randint(0, 12) for _ in range(rng.randint(0, 4))]
        got = count_position_matches(
            [TagEvent("x", p, i) for i, p in enumerate(refs)],
            [TagEvent("x", p, i) for i, p in enumerate(hyps)],
            2,
        ).get("x", 0)
        assert got == _brute_matches(refs, hyps, 2)


def test_ntd_bounds_and_score_bounds():
    ev = [TagEvent("laugh", 0, 0)]
    assert utterance_ntd(ev, ev, 5) == 0.0
    assert utterance_ntd(ev, [], 5) == 1.0
    assert utterance_ntd(ev, [TagEvent("laugh", 50, 0)], 5) == 1.0  # capped at 1
    assert track1_score(1.0, 0.0, 0.0) == 100.0
    assert track1_score(0.0, 1.0, 3.0) == 0.0  # Err capped at 1
    assert track1_score(0.5, 0.5, None) is None


def test_nvasr_report_carries_track1_scores():
    d = evaluate_nvasr(DOC_REFS, DOC_HYPS).to_dict(per_utterance=True)
    for key in ("position_f1", "mntd", "track1_score", "nvvspeech"):
        assert key in d
    assert set(d["nvvspeech"]["languages"]) == {"zh"}
    # u1 我[laugh]听到了 vs 我听到[laugh]了: 2 characters off, a true positive
    assert d["utterances"][0]["nvvspeech"]["tp"] == 1
    json.dumps(d, allow_nan=False)
    assert "NVVSpeech Track 1" in evaluate_nvasr(DOC_REFS, DOC_HYPS).format_table()
    assert "nvvspeech" not in evaluate_nvasr(DOC_REFS, DOC_HYPS, position_aware=False).to_dict()


def _cli(argv, capsys):
    import argparse

    from paravox.cli import eval_cmd

    parser = argparse.ArgumentParser(prog="paravox")
    eval_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        code = args.handler(args)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_nvasr_cli_reads_languages_and_prints_track1(tmp_path, capsys):
    ref = tmp_path / "ref.jsonl"
    hyp = tmp_path / "hyp.jsonl"
    ref.write_text(
        json.dumps({"id": "a", "language": "en", "text": "a b [laugh] c d e f"}) + "\n"
        + json.dumps({"id": "b", "language": "zh", "text": "你好[cough]"}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    hyp.write_text(
        json.dumps({"id": "a", "text": "a b c d e [laugh] f"}) + "\n"
        + json.dumps({"id": "b", "text": "你好[cough]"}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    code, out, _ = _cli(["eval", "nvasr", "--ref", str(ref), "--hyp", str(hyp), "--json"], capsys)
    assert code == 0
    d = json.loads(out)
    langs = d["nvvspeech"]["languages"]
    assert langs["en"]["f1_micro"] == 0.0 and langs["zh"]["f1_micro"] == 1.0
    assert d["track1_score"] == pytest.approx((langs["en"]["track1_score"] + 100.0) / 2)
    # forcing Chinese units: "a b c ..." become characters and the 3-unit shift is inside 5
    code, out, _ = _cli(["eval", "nvasr", "--ref", str(ref), "--hyp", str(hyp), "--json", "--language", "zh"], capsys)
    assert json.loads(out)["nvvspeech"]["languages"]["zh"]["f1_micro"] == 1.0
    code, out, _ = _cli(["eval", "nvasr", "--ref", str(ref), "--hyp", str(hyp)], capsys)
    assert code == 0 and "Track1Score" in out and "F1_micro" in out
    code, _, err = _cli(["eval", "nvasr", "--ref", str(ref), "--hyp", str(hyp), "--language-field", "lng"], capsys)
    assert code == 2 and "lng" in err
