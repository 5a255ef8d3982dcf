"""AWS event-stream framing (Bedrock's `converse_stream`, `invoke_model_with_response_stream`).

Each frame starts with its total length (4 bytes, big-endian), so a recorded
body splits back into the frames it arrived as; a replay hands them to
botocore one by one, CRCs and all, as the service sent them.
"""

from __future__ import annotations

import struct

__all__ = ["split_frames"]

_PRELUDE = 12  # total length, headers length, prelude CRC
_MESSAGE_CRC = 4


def split_frames(body: bytes) -> list[bytes]:
    """The frames of an event-stream body; bytes that do not parse as frames stay one last chunk."""
    frames: list[bytes] = []
    at = 0
    while at + _PRELUDE + _MESSAGE_CRC <= len(body):
        (total,) = struct.unpack_from(">I", body, at)
        if total < _PRELUDE + _MESSAGE_CRC or at + total > len(body):
            break
        frames.append(body[at : at + total])
        at += total
    if at < len(body):
        frames.append(body[at:])
    return frames
