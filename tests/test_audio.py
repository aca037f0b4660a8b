"""paravox.audio: every input kind, every format, every documented error."""

from __future__ import annotations

import doctest
import io
import json
import pickle
import struct
import sys
import tracemalloc
from pathlib import Path

import av
import numpy as np
import pytest

import paravox.audio.decode
import paravox.audio.errors
import paravox.testing.signals
from paravox.audio import SAMPLE_RATE, Audio, AudioError, load_audio, source_name, stream_audio
from paravox.testing import FORMATS, encode, noise, silence, tone, truncate, wav_bytes

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def dominant_hz(samples: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * sample_rate / len(samples))


def png_bytes() -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="image2pipe") as out:
        stream = out.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = 8, 8, "rgb24"
        frame = av.VideoFrame.from_ndarray(np.zeros((8, 8, 3), np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return buf.getvalue()


def video_only_mp4() -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return buf.getvalue()


def raises(reason: str, source, **kwargs) -> AudioError:
    """Load ``source``, expect AudioError(reason) whose message names the input and gives a fix."""
    with pytest.raises(AudioError) as info:
        load_audio(source, **kwargs)
    err = info.value
    assert err.reason == reason, str(err)
    name = kwargs.get("name") or source_name(source)
    assert err.source == name
    assert str(err).startswith(f"{name}: ") and "; " in str(err), str(err)
    return err


# --- formats, rates, channels ----------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_round_trips(fmt):
    audio = load_audio(encode(tone(440, seconds=1.0), 16000, fmt))
    assert audio.sample_rate == SAMPLE_RATE
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert abs(audio.duration - 1.0) <= 0.05
    assert abs(dominant_hz(audio.samples, 16000) - 440) < 3
    assert 0.4 < np.abs(audio.samples).max() < 0.6


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_other_rates_are_resampled_to_16k(rate):
    x = tone(1000, seconds=1.5, sample_rate=rate)
    for audio in (load_audio(wav_bytes(x, rate)), load_audio((x, rate))):
        assert audio.sample_rate == 16000
        assert len(audio.samples) == 24000  # exactly round(n * 16000 / rate)
        assert abs(dominant_hz(audio.samples, 16000) - 1000) < 3
        assert np.abs(audio.samples).max() == pytest.approx(0.5, abs=0.02)


def test_other_target_rate():
    audio = load_audio(encode(tone(440, 1.0, 44100), 44100, "flac"), sample_rate=8000)
    assert audio.sample_rate == 8000 and len(audio.samples) == 8000
    assert abs(dominant_hz(audio.samples, 8000) - 440) < 3


def test_stereo_is_averaged_to_mono():
    x = tone(440, 1.0)
    left_only = np.stack([x, np.zeros_like(x)], axis=1)
    from_file = load_audio(encode(left_only, 16000, "flac", channels=2))
    from_array = load_audio((left_only.T, 16000))  # (channels, n), pyannote style
    for audio in (from_file, from_array):
        assert np.abs(audio.samples).max() == pytest.approx(0.25, abs=0.01)
    same = load_audio(wav_bytes(x, 16000, channels=2))
    np.testing.assert_allclose(same.samples, load_audio(wav_bytes(x, 16000)).samples, atol=1e-6)
    np.testing.assert_allclose(load_audio((np.stack([x, x], axis=1), 16000)).samples, x, atol=1e-6)


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_wav_sample_formats(subtype):
    audio = load_audio(wav_bytes(tone(440, 0.5), 16000, subtype=subtype))
    assert len(audio.samples) == 8000
    assert np.abs(audio.samples).max() == pytest.approx(0.5, abs=0.01)


def test_integer_arrays_are_scaled():
    x = tone(440, 0.5, amplitude=0.5)
    int16 = np.round(x * 32767).astype(np.int16)
    int32 = int16.astype(np.int32) << 16
    for array in (int16, int32, x.astype(np.float64)):
        audio = load_audio((array, 16000))
        assert audio.samples.dtype == np.float32
        assert np.abs(audio.samples).max() == pytest.approx(0.5, abs=1e-3)


def test_clipped_audio_loads():
    clipped = np.clip(tone(440, 1.0, amplitude=3.0), -1, 1)
    audio = load_audio(wav_bytes(clipped))
    assert np.abs(audio.samples).max() == pytest.approx(1.0, abs=1e-3)


def test_one_sample():
    assert len(load_audio(wav_bytes(np.array([0.25]))).samples) == 1
    audio = load_audio((np.array([0.25], dtype=np.float32), 16000))
    assert audio.samples.tolist() == [0.25]
    assert len(load_audio((np.array([0.25]), 8000)).samples) == 2  # length stays exact


@pytest.mark.parametrize(
    "data", [wav_bytes(silence(0)), encode(silence(0), 16000, "flac")], ids=["wav", "flac"]
)
def test_valid_file_with_zero_samples_is_empty_audio(data):
    audio = load_audio(data)
    assert audio.samples.shape == (0,) and audio.samples.dtype == np.float32 and audio.duration == 0
    assert list(stream_audio(data)) == []


def test_zero_length_array_is_empty_audio():
    assert load_audio((np.zeros(0, np.float32), 44100)).samples.shape == (0,)


# --- input kinds and names ---------------------------------------------------


def test_every_input_kind(tmp_path):
    x = tone(440, 1.0)
    data = wav_bytes(x)
    path = tmp_path / "talk.wav"
    path.write_bytes(data)
    with open(path, "rb") as file:
        from_file = load_audio(file)
    cases = {
        str(path): load_audio(str(path)),
        str(path) + " (Path)": load_audio(path),
        "<bytes: 32044 B>": load_audio(data),
        "<bytes: 32044 B> (bytearray)": load_audio(bytearray(data)),
        "<bytes: 32044 B> (memoryview)": load_audio(memoryview(data)),
        "<file object>": load_audio(io.BytesIO(data)),
        str(path) + " (file)": from_file,
        "<array>": load_audio((x, 16000)),
        "<array> (dict)": load_audio({"waveform": x[None, :], "sample_rate": 16000}),
    }
    for expected, audio in cases.items():
        assert audio.source == expected.split(" (")[0]
        np.testing.assert_allclose(audio.samples, x, atol=1e-4)


def test_audio_passes_through_and_name_overrides():
    audio = Audio(tone(440, 1.0, 8000), 8000, "clip-7")
    resampled = load_audio(audio)
    assert resampled.source == "clip-7" and len(resampled.samples) == 16000
    assert load_audio(resampled).samples is resampled.samples
    assert load_audio(wav_bytes(tone()), name="upload.wav").source == "upload.wav"


def test_extension_is_irrelevant(tmp_path):
    path = tmp_path / "actually_a_wav.mp3"
    path.write_bytes(wav_bytes(tone(440, 1.0)))
    assert load_audio(path).duration == 1.0


def test_stdin(monkeypatch):
    data = encode(tone(440, 1.5, 44100), 44100, "mp3")

    class Pipe:  # not seekable, like a real pipe
        def __init__(self, data):
            self.file = io.BytesIO(data)

        def read(self, n=-1):
            return self.file.read(n)

    monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": Pipe(data)})())
    audio = load_audio("-")
    assert audio.source == "<stdin>" and abs(audio.duration - 1.5) < 0.05
    assert load_audio(Pipe(data)).duration == audio.duration  # any non-seekable reader
    monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": Pipe(b"")})())
    raises("empty", "-")


def test_source_names():
    assert source_name("a/b.wav") == "a/b.wav"
    assert source_name(Path("a/b.wav")) == "a/b.wav"
    assert source_name("-") == "<stdin>"
    assert source_name(b"1234") == "<bytes: 4 B>"
    assert source_name((np.zeros(3), 16000)) == "<array>"
    assert source_name({"waveform": np.zeros(3), "sample_rate": 16000}) == "<array>"
    assert source_name(io.BytesIO()) == "<file object>"
    assert source_name(Audio(np.zeros(1, np.float32), 16000, "x.wav")) == "x.wav"


def test_unsupported_python_type():
    with pytest.raises(TypeError, match="pass a path"):
        load_audio(12)


# --- errors ------------------------------------------------------------------


def test_missing_path_and_directory(tmp_path):
    assert "check the path" in str(raises("not_found", str(tmp_path / "nope.wav")))
    assert "directory" in str(raises("unreadable", tmp_path))


def test_empty_input(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    for source in (empty, b"", io.BytesIO()):
        assert "is empty (0 bytes)" in str(raises("empty", source))


def test_not_audio(tmp_path):
    text = tmp_path / "notes.txt"  # FFmpeg opens .txt as an "ansi art" video
    text.write_text("hello, this is not audio\n" * 40)
    image = tmp_path / "photo.png"
    image.write_bytes(png_bytes())
    for source in (text, image, np.random.default_rng(0).bytes(5000), b"hello\n" * 100):
        err = raises("not_audio", source)
        assert "wav/flac/mp3" in str(err)


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "webm"])
def test_corrupt_header_is_not_audio(fmt):
    data = bytearray(encode(tone(440, 1.0), 16000, fmt))
    data[:64] = bytes(64)
    raises("not_audio", bytes(data))


# How each format behaves when only the first part of the file survives
# (see the module docstring of paravox.audio.containers for why).
@pytest.mark.parametrize(
    ("fmt", "fraction", "reason", "seconds"),
    [
        ("wav", 0.5, "truncated", None),  # data chunk size from the header
        ("wav", 0.95, None, 3.8),  # within 10% of the declared length: decoded
        ("flac", 0.5, "truncated", None),  # last partial frame fails to decode
        ("flac", 0.99, "truncated", None),
        ("mp3", 0.5, "truncated", None),  # LAME's Info header declares the length
        ("mp3", 0.95, None, 3.85),
        ("webm", 0.5, "truncated", None),  # segment Duration element
        ("webm", 0.95, None, 3.83),
        ("opus", 0.5, "truncated", None),  # no end-of-stream Ogg page
        ("opus", 0.999, "truncated", None),
        ("ogg", 0.5, "truncated", None),  # cut inside the vorbis setup header
        ("m4a", 0.5, "truncated", None),  # moov box (at the end) is gone
    ],
)
def test_truncated_files(fmt, fraction, reason, seconds):
    data = truncate(encode(tone(440, 4.0), 16000, fmt), fraction)
    if reason is None:
        assert load_audio(data).duration == pytest.approx(seconds, abs=0.05)
    else:
        err = raises(reason, data)
        if fmt in ("wav", "mp3", "webm"):
            assert "4.0" in err.detail  # names the declared length


def test_cut_raw_mp3_decodes_what_is_there():
    """Without a Xing/Info header an MP3 declares no length: nothing to compare with."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3", options={"write_xing": "0"}) as out:
        stream = out.add_stream("libmp3lame", rate=16000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(tone(440, 4.0).reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    assert load_audio(buf.getvalue()).duration == pytest.approx(4.1, abs=0.05)  # no gapless info
    assert load_audio(truncate(buf.getvalue(), 0.5)).duration == pytest.approx(2.05, abs=0.05)
    assert "stopped decoding" in str(raises("too_large", buf.getvalue(), max_duration=2.0))


def test_damaged_packet_in_the_middle_is_skipped():
    stitched = encode(tone(440, 1.0), 16000, "mp3") + encode(tone(880, 1.0), 16000, "mp3")
    assert load_audio(stitched).duration == pytest.approx(2.0, abs=0.15)  # as `cat a.mp3 b.mp3`
    damaged = bytearray(encode(tone(440, 4.0), 16000, "flac"))
    damaged[20000:20100] = bytes(100)
    assert load_audio(bytes(damaged)).duration == pytest.approx(4.0, abs=0.15)


def test_truncated_wav_names_both_lengths():
    err = raises("truncated", truncate(wav_bytes(tone(440, 4.0)), 0.5), name="talk.wav")
    assert "2.00 s of audio present, the header declares 4.00 s" in str(err)
    with pytest.raises(AudioError, match="truncated"):
        stream_audio(truncate(wav_bytes(tone(440, 4.0)), 0.5))  # at once, before iterating


def test_streamed_wav_without_length_decodes():
    data = bytearray(wav_bytes(tone(440, 3.0)))
    start = data.index(b"data")
    data[start + 4 : start + 8] = struct.pack("<I", 0xFFFFFFFF)  # as written to a pipe
    assert load_audio(bytes(data)).duration == 3.0
    # no declared length: max_duration is enforced while decoding
    assert "stopped decoding" in str(raises("too_large", bytes(data), max_duration=1.0))


def test_unsupported_codec():
    data = bytearray(wav_bytes(tone(440, 0.1)))
    data[20:22] = struct.pack("<H", 0x1234)  # a WAVE format tag no decoder knows
    raises("unsupported_codec", bytes(data))
    assert "only video" in str(raises("unsupported_codec", video_only_mp4(), name="clip.mp4"))


@pytest.mark.parametrize(
    "source",
    [
        (np.array([0.0, np.nan, 0.1], dtype=np.float32), 16000),
        (np.array([0.0, np.inf]), 16000),
        (np.zeros((2, 3, 100)), 16000),
        (np.zeros((20, 100)), 16000),  # no axis of <= 8 channels
        (np.zeros(10, dtype=np.int64), 16000),
        (np.zeros(10), 0),
        (np.zeros(10), -16000),
        (np.zeros(10), 16000.5),
        (None, 16000),
        (np.zeros(10),),
        (),
        np.zeros(10),  # no sample rate
        {"waveform": np.zeros(10)},
    ],
    ids=[
        "nan", "inf", "3d", "20ch", "int64", "rate0", "rate-", "rate-frac",
        "none", "1-tuple", "0-tuple", "bare", "dict",
    ],
)
def test_invalid_arrays(source):
    raises("invalid_array", source)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_float_wav_holding_nan_or_infinity_is_refused(value):
    data = bytearray(wav_bytes(tone(440, 1.0), subtype="FLOAT"))
    data[44 + 4 * 800 : 44 + 4 * 801] = struct.pack("<f", value)  # sample 800, raw: no clipping on the way
    err = raises("unreadable", bytes(data), name="broken.wav")
    assert str(err).startswith("broken.wav: cannot be read (samples contain NaN or infinity)")
    for source in (io.BytesIO(bytes(data)), bytes(data)):  # the streaming decoder refuses it too
        with pytest.raises(AudioError):
            list(stream_audio(source))


def test_max_duration():
    err = raises("too_large", encode(tone(440, 4.0), 16000, "flac"), max_duration=2.0)
    assert "4.0 s declared" in str(err)
    raises("too_large", (tone(440, 4.0), 16000), max_duration=2.0)
    assert load_audio((tone(440, 1.0), 16000), max_duration=2.0).duration == 1.0


def test_error_pickles():
    err = AudioError("talk.mp3", "not_audio", "no audio stream found")
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.source, copy.reason, str(copy)) == (err.source, err.reason, str(err))
    assert str(err) == (
        "talk.mp3: not audio (no audio stream found); "
        "check that the file is a wav/flac/mp3/ogg/opus/m4a/aac/webm recording"
    )


# --- streaming ---------------------------------------------------------------


def test_stream_blocks_equal_load():
    data = encode(noise(2.3, 44100, seed=1), 44100, "mp3")
    blocks = list(stream_audio(data, window_seconds=0.5))
    assert [len(b) for b in blocks[:-1]] == [8000] * 4 and 0 < len(blocks[-1]) <= 8000
    assert all(b.dtype == np.float32 for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks), load_audio(data).samples)
    array_blocks = list(stream_audio((noise(1.3), 16000), window_seconds=0.5))
    assert [len(b) for b in array_blocks] == [8000, 8000, 4800]


def test_stream_validates_before_iterating(tmp_path):
    cases = [("not_found", tmp_path / "nope.wav"), ("empty", b""), ("not_audio", b"hello" * 50)]
    for reason, source in cases:
        with pytest.raises(AudioError) as info:
            stream_audio(source)  # no next() needed
        assert info.value.reason == reason


def test_stream_long_file_is_incremental(tmp_path):
    path = tmp_path / "long.flac"
    path.write_bytes(encode(silence(20 * 60), 16000, "flac"))  # 20 minutes
    window = 60 * 16000
    with open(path, "rb") as file:
        blocks = stream_audio(file, window_seconds=60)
        tracemalloc.start()
        first = next(blocks)
        second = next(blocks)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert len(first) == len(second) == window
        assert file.tell() < path.stat().st_size / 4  # has not read the whole file
        assert peak < 4 * window * 4  # a few windows of float32, not 20 minutes (77 MB)
        assert sum(1 for _ in blocks) == 18  # the rest, still exact windows of 60 s


# --- real recordings and docs --------------------------------------------------


@pytest.mark.skipif(not DATA.is_dir(), reason="shared data pack not present")
@pytest.mark.parametrize("folder", ["nonverbal/emogator", "nonverbal/deeply", "emotion/casia"])
def test_real_recordings_match_manifest(folder):
    manifest = DATA / folder / "manifest.jsonl"
    if not manifest.is_file():
        pytest.skip(f"{manifest} not present")
    row = json.loads(manifest.read_text(encoding="utf-8").splitlines()[0])
    audio = load_audio(manifest.parent / row["audio"])
    assert audio.sample_rate == 16000 and audio.samples.ndim == 1
    assert audio.duration == pytest.approx(row["duration"], abs=0.01)
    assert np.abs(audio.samples).max() > 0.01  # not silence


@pytest.mark.parametrize("module", [paravox.audio.decode, paravox.audio.errors, paravox.testing.signals])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


def test_probe_duration_reads_the_header_without_decoding(tmp_path):
    from paravox.audio import probe_duration
    from paravox.testing import encode, tone

    path = tmp_path / "two.flac"
    path.write_bytes(encode(tone(seconds=2.0), 16000, "flac"))
    assert probe_duration(path) == pytest.approx(2.0, abs=0.01)
    assert probe_duration((tone(seconds=0.5), 16000)) == pytest.approx(0.5)
    with pytest.raises(AudioError) as err:
        probe_duration(tmp_path / "nope.wav")
    assert err.value.reason == "not_found"
