"""OpenAI's audio endpoints: transcriptions and translations, sent as multipart/form-data uploads.

The "speech" is read from the uploaded file: a file that is UTF-8 text is taken as what was said (so a
test can choose the transcript), any other file gets a fixed sentence derived from its bytes. A WAV
file's length comes from its header, any other's from the words at 2.5 words a second.

Bodies as the API sends them: `json` is `{"text", "usage"}` (usage by duration for whisper-1, by tokens
for the gpt-4o transcribe models), `text`, `srt` and `vtt` are plain text, `verbose_json` (whisper-1)
adds the language, the duration and the segments. Translations answer `{"text"}` only. With `stream`
the gpt-4o models send `transcript.text.delta` events and a `transcript.text.done` with the usage (the
openai SDK's `TranscriptionTextDeltaEvent` / `TranscriptionTextDoneEvent`); whisper-1 ignores it.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Mapping
from typing import Any

from pytest_llmops.recording.multipart import FormPart

from .engine import CallContext
from .tokens import count_tokens
from .wire import ApiError, JsonReply, Reply, SseReply, compact, pretty, sse

__all__ = ["form_body", "transcriptions", "translations"]

WHISPER = "whisper-1"
FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
TOKEN_MODEL_FORMATS = ("json", "text")
AUDIO_TOKENS_PER_SECOND = 10
WORDS_PER_SECOND = 2.5
_WORDS = (
    "thanks for calling",
    "my order has not arrived yet",
    "could you check the delivery date",
    "I would like a refund",
    "the app crashes when I open it",
    "please send me the invoice again",
)


def form_body(parts: list[FormPart]) -> dict[str, Any]:
    """A form as the endpoints read it: a text field is its text (a repeated `name[]` a list of them),
    a file is its `FormPart`."""
    out: dict[str, Any] = {}
    for part in parts:
        value: Any = part if part.filename is not None or part.text is None else part.text
        if part.name.endswith("[]"):
            out.setdefault(part.name[:-2], []).append(value)
        else:
            out[part.name] = value
    return out


def _bad(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, "invalid_request_error", message, param=param)


def _upload(body: Mapping[str, Any], model: str, formats: tuple[str, ...]) -> tuple[FormPart, str]:
    if not isinstance(model, str) or not model:
        raise _bad("you must provide a model parameter", param="model")
    upload = body.get("file")
    if not isinstance(upload, FormPart) or upload.filename is None:
        raise _bad("you must provide a file parameter", param="file")
    if not upload.content:
        raise _bad("The audio file could not be decoded or its format is not supported.", param="file")
    response_format = body.get("response_format") or "json"
    if response_format not in FORMATS:
        raise _bad(
            f"Invalid value for 'response_format': {response_format!r}. Supported values are: "
            + ", ".join(f"'{f}'" for f in FORMATS)
            + ".",
            param="response_format",
        )
    if response_format not in formats:
        raise _bad(
            f"response_format '{response_format}' is not compatible with model '{model}'. "
            f"Use {' or '.join(repr(f) for f in formats)}.",
            param="response_format",
        )
    return upload, response_format


def _speech(upload: FormPart) -> str:
    said = " ".join((upload.text or "").split())
    if said:
        return said
    digest = hashlib.sha256(upload.content).digest()
    sentence = ", ".join(_WORDS[b % len(_WORDS)] for b in digest[:3])
    return sentence[0].upper() + sentence[1:] + "."


def _seconds(upload: FormPart, text: str) -> float:
    content = upload.content
    if content[:4] == b"RIFF" and content[8:12] == b"WAVE":
        byte_rate = _wav_byte_rate(content)
        if byte_rate:
            return round(max(len(content) - 44, 0) / byte_rate, 2)
    return round(max(len(text.split()) / WORDS_PER_SECOND, 1.0), 2)


def _wav_byte_rate(content: bytes) -> int:
    at = 12
    while at + 8 <= len(content):
        chunk, size = content[at : at + 4], struct.unpack("<I", content[at + 4 : at + 8])[0]
        if chunk == b"fmt " and at + 20 <= len(content):
            rate: int = struct.unpack("<I", content[at + 16 : at + 20])[0]
            return rate
        at += 8 + size + (size & 1)
    return 0


def _usage(model: str, seconds: float, text: str, prompt: str) -> dict[str, Any]:
    if model == WHISPER:
        return {"type": "duration", "seconds": math.ceil(seconds)}
    audio = math.ceil(seconds * AUDIO_TOKENS_PER_SECOND)
    prompt_tokens = count_tokens(prompt) if prompt else 0
    output = count_tokens(text)
    return {
        "type": "tokens",
        "input_tokens": audio + prompt_tokens,
        "input_token_details": {"text_tokens": prompt_tokens, "audio_tokens": audio},
        "output_tokens": output,
        "total_tokens": audio + prompt_tokens + output,
    }


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"


def _text_reply(text: str) -> JsonReply:
    return JsonReply(text.encode("utf-8"), headers={"content-type": "text/plain; charset=utf-8"})


def _reply(task: str, model: str, body: Mapping[str, Any], formats: tuple[str, ...]) -> Reply:
    upload, response_format = _upload(body, model, formats)
    text = _speech(upload)
    seconds = _seconds(upload, text)
    if response_format == "text":
        return _text_reply(text + "\n")
    if response_format == "srt":
        return _text_reply(f"1\n{_timestamp(0, ',')} --> {_timestamp(seconds, ',')}\n{text}\n\n")
    if response_format == "vtt":
        return _text_reply(f"WEBVTT\n\n{_timestamp(0, '.')} --> {_timestamp(seconds, '.')}\n{text}\n\n")
    if task == "translate":
        return JsonReply(pretty({"text": text}))
    usage = _usage(model, seconds, text, str(body.get("prompt") or ""))
    if body.get("stream") == "true" and model != WHISPER:  # whisper-1 ignores `stream`
        return _stream(text, usage)
    if response_format == "json":
        return JsonReply(pretty({"text": text, "usage": usage}))
    segment = {
        "id": 0,
        "seek": 0,
        "start": 0.0,
        "end": seconds,
        "text": " " + text,
        "tokens": list(range(50364, 50364 + count_tokens(text))),
        "temperature": 0.0,
        "avg_logprob": -0.21,
        "compression_ratio": 1.18,
        "no_speech_prob": 0.01,
    }
    language = str(body.get("language") or "english")
    payload = {
        "task": task,
        "language": language,
        "duration": seconds,
        "text": text,
        "segments": [segment],
        "usage": usage,
    }
    return JsonReply(pretty(payload))


def _stream(text: str, usage: dict[str, Any]) -> SseReply:
    """`transcript.text.delta` events of a few words each, then `transcript.text.done` with the usage."""
    words = text.split(" ")
    pieces = [
        " ".join(words[i : i + 3]) + (" " if i + 3 < len(words) else "") for i in range(0, len(words), 3)
    ]
    events = [sse(compact({"type": "transcript.text.delta", "delta": piece})) for piece in pieces]
    events.append(sse(compact({"type": "transcript.text.done", "text": text, "usage": usage})))
    return SseReply(events)


def transcriptions(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    model = body.get("model")
    formats = FORMATS if model == WHISPER else TOKEN_MODEL_FORMATS
    return _reply("transcribe", str(model or ""), body, formats)


def translations(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    model = body.get("model")
    if model and model != WHISPER:
        raise _bad(f"Invalid model '{model}': translations are only available with {WHISPER}.", param="model")
    return _reply("translate", str(model or ""), body, FORMATS)
