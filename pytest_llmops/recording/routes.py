"""Where one request of a patched library goes: the one decision every interception asks for first."""

from __future__ import annotations

from pytest_llmops.recording import telemetry
from pytest_llmops.recording.transport import THROUGH, Recorder, active, ignored


def destination(method: str, uri: str) -> Recorder | None:
    """The recorder that answers or records the request. `transport.THROUGH`: send it as without the
    plugin, accounted for (a telemetry export or a library lookup while recording, an ignored host while an
    llm test runs).
    None: no llm test runs, and the interception applies its check for requests outside llm tests.

    Telemetry and library lookups come first: they are answered here in a replay, and after a replay run,
    when no recorder is active."""
    export = telemetry.route(method, uri)
    if export is not None:
        return export
    recorder = active()
    if recorder is not None and ignored(uri):
        return THROUGH
    return recorder
