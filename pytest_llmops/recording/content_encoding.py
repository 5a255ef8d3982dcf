"""Undo content-encoding on recorded bodies, trusting the bytes over the headers.

Recorders disagree about what they store: vcrpy keeps the gzip bytes the
server sent, while HAR files and vcrpy's old httpx layout store decoded text
and still list `content-encoding: gzip`. So magic bytes decide for gzip and
zstd; the header is only needed for deflate and brotli, which have no
reliable magic.
"""

from __future__ import annotations

import gzip
import importlib
import zlib
from typing import Any

from pytest_llmops.recording.interactions import Headers

__all__ = ["BodyDecodeError", "decode_body", "decode_prefix"]

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# A body of these types *is* an archive; only a content-encoding header may unwrap it.
_ARCHIVE_TYPES = frozenset({"application/gzip", "application/x-gzip", "application/zstd"})
_MAX_LAYERS = 4


class BodyDecodeError(ValueError):
    """The body claims or looks like an encoding we cannot undo."""


def decode_body(body: bytes, headers: Headers) -> tuple[bytes, Headers]:
    """Return the decoded body and headers that fit it.

    `content-encoding` is always dropped (held bodies are decoded, whatever
    the header said), and so is a `content-length` that no longer matches.
    """
    if not body.startswith((GZIP_MAGIC, ZSTD_MAGIC)) and not _looks_like_zlib(body):
        # The usual body (nothing to sniff): when no header declares an encoding or a wrong length,
        # it is kept as it is, which is what the general path below would conclude.
        size = ""
        for key, values in headers.items():
            name = key.lower()
            if name == "content-encoding":
                break
            if name == "content-length":
                size = size or str(len(body))
                if any(v.strip() != size for v in values):
                    break
        else:
            return body, headers
    declared: list[str] = []
    content_type = ""
    lengths: list[str] = []
    encoding_header = False
    for key, values in headers.items():
        name = key.lower()
        if name == "content-encoding":
            encoding_header = True
            declared += [t.strip().lower() for v in values for t in v.split(",") if t.strip()]
        elif name == "content-length":
            lengths += values
        elif name == "content-type" and values and not content_type:
            content_type = values[0].split(";")[0].strip().lower()
    declared = [e for e in declared if e != "identity"]
    pending = [e for e in reversed(declared) if e in ("br", "deflate")]
    unknown = [e for e in declared if e not in ("br", "deflate", "gzip", "x-gzip", "zstd")]
    # Sniffed layers to undo at most: any, unless the payload itself is an archive.
    sniff = _MAX_LAYERS
    if content_type in _ARCHIVE_TYPES:
        sniff = sum(e in ("gzip", "x-gzip", "zstd") for e in declared)

    for _ in range(_MAX_LAYERS):
        if sniff > 0 and body.startswith(GZIP_MAGIC):
            body = _gunzip(body)
        elif sniff > 0 and body.startswith(ZSTD_MAGIC):
            body = _unzstd(body)
        elif pending:
            body = _undo_declared(pending.pop(0), body)
            continue
        elif sniff > 0 and _looks_like_zlib(body) and not _is_utf8(body):
            try:
                body = _inflate(body, "zlib")
            except BodyDecodeError:  # undeclared, and only its first two bytes looked like zlib: data
                break
        else:
            break
        sniff -= 1
    if unknown and not _is_utf8(body):
        raise BodyDecodeError(
            f"content-encoding {', '.join(unknown)!r} is not supported and the body is not text"
        )

    wrong_length = any(v.strip() != str(len(body)) for v in lengths)
    if not encoding_header and not wrong_length:
        return body, headers
    names = {"content-encoding", "content-length"} if wrong_length else {"content-encoding"}
    return body, {k: v for k, v in headers.items() if k.lower() not in names}


def decode_prefix(body: bytes, headers: Headers) -> tuple[bytes, Headers]:
    """What can be decoded of a body the connection cut short: the bytes the client saw before the cut.

    gzip and deflate decode incrementally; a body in another encoding that cannot be decoded whole
    is dropped (the client saw nothing usable of it). Headers lose content-encoding/-length.
    """
    try:
        return decode_body(body, headers)
    except BodyDecodeError:
        pass
    headers = {k: v for k, v in headers.items() if k.lower() not in ("content-encoding", "content-length")}
    for wbits in (zlib.MAX_WBITS | 32, -zlib.MAX_WBITS):  # gzip or zlib (auto), then raw deflate
        try:
            return zlib.decompressobj(wbits).decompress(body), headers
        except zlib.error:
            continue
    return b"", headers


def _undo_declared(encoding: str, body: bytes) -> bytes:
    """Undo a declared br/deflate layer; a text body means the header lied."""
    if encoding == "deflate":
        try:
            return _inflate(body, "deflate")
        except BodyDecodeError:
            if _is_utf8(body):
                return body
            raise
    module = _optional_module("brotli", "brotlicffi")
    if module is None:
        if _is_utf8(body):
            return body
        raise BodyDecodeError(
            "body is brotli-encoded (content-encoding: br) and no brotli module is installed; "
            "`pip install brotli` to read it"
        )
    try:
        return bytes(module.decompress(body))
    except Exception as exc:  # brotli raises its own error type, which we cannot name statically
        if _is_utf8(body):
            return body
        raise BodyDecodeError(f"brotli body is truncated or corrupt ({exc})") from exc


def _gunzip(body: bytes) -> bytes:
    try:
        return gzip.decompress(body)
    except EOFError as exc:
        raise BodyDecodeError("gzip body is truncated (the stream ends before its end marker)") from exc
    except (OSError, zlib.error) as exc:
        raise BodyDecodeError(f"gzip body is corrupt ({exc})") from exc


def _inflate(body: bytes, kind: str) -> bytes:
    # Servers send "deflate" both zlib-wrapped (per RFC) and raw; accept both.
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        decompressor = zlib.decompressobj(wbits)
        try:
            out = decompressor.decompress(body) + decompressor.flush()
        except zlib.error:
            continue
        if decompressor.eof and not decompressor.unused_data:
            return out
    raise BodyDecodeError(f"{kind} body is truncated or corrupt")


def _unzstd(body: bytes) -> bytes:
    module = _optional_module("zstandard")
    if module is None:
        raise BodyDecodeError(
            "body is zstd-compressed and the zstandard module is not installed; "
            "`pip install zstandard` to read it"
        )
    decompressor = module.ZstdDecompressor().decompressobj()
    try:
        out = bytes(decompressor.decompress(body))
    except Exception as exc:  # zstandard.ZstdError, which we cannot name statically
        raise BodyDecodeError(f"zstd body is corrupt ({exc})") from exc
    if not getattr(decompressor, "eof", True):
        raise BodyDecodeError("zstd body is truncated (the frame ends early)")
    return out


def _looks_like_zlib(body: bytes) -> bool:
    return len(body) > 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _optional_module(*names: str) -> Any:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None
