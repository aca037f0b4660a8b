"""What a file's own header says about its length (WAV, MP3, Ogg), read without FFmpeg.

FFmpeg clamps or estimates some durations, so the truncation checks read these headers
directly (see :mod:`paravox.audio.containers`).
"""

from __future__ import annotations

import io

__all__ = ["peek", "wav_lengths", "has_mp3_length_header", "ogg_has_end"]


def peek(file, parse):
    """Run ``parse(file)`` from the start and put the position back (FFmpeg reads on from it)."""
    position = file.tell()
    try:
        file.seek(0)
        return parse(file)
    finally:
        file.seek(position)


def wav_lengths(file) -> tuple[float, float] | None:
    """(declared, present) seconds from a RIFF/WAVE header, or None if it declares no length."""
    head = file.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    byte_rate = 0
    while len(chunk := file.read(8)) == 8:
        size = int.from_bytes(chunk[4:], "little")
        if chunk[:4] == b"fmt ":
            byte_rate = int.from_bytes(file.read(size + size % 2)[8:12], "little")
        elif chunk[:4] == b"data":
            # 0 and 0xFFFFFFFF-ish sizes are placeholders of streamed wav: length unknown
            if not byte_rate or size == 0 or size >= 0x7FFF0000:
                return None
            start = file.tell()
            present = min(size, file.seek(0, io.SEEK_END) - start)
            return size / byte_rate, present / byte_rate
        else:
            file.seek(size + size % 2, io.SEEK_CUR)
    return None


def has_mp3_length_header(file) -> bool:
    """Whether an MP3 starts with a Xing/Info/VBRI frame, i.e. declares its length."""
    head = file.read(10)
    if head[:3] == b"ID3" and len(head) == 10:  # skip an ID3v2 tag (syncsafe size)
        size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
        file.seek(10 + size)
    else:
        file.seek(0)
    first = file.read(4096)
    return any(tag in first for tag in (b"Xing", b"Info", b"VBRI"))


def ogg_has_end(file) -> bool:
    """Whether the last Ogg page is complete and carries the end-of-stream flag."""
    size = file.seek(0, io.SEEK_END)
    file.seek(max(0, size - 70_000))  # an Ogg page is at most 65,307 bytes
    tail = file.read()
    last = tail.rfind(b"OggS")
    if last < 0 or len(tail) < last + 27:
        return False
    flags, n_segments = tail[last + 5], tail[last + 26]  # 27-byte page header
    table = tail[last + 27 : last + 27 + n_segments]  # then one length byte per segment
    page_end = last + 27 + n_segments + sum(table)
    return bool(flags & 0x04) and len(table) == n_segments and page_end <= len(tail)
