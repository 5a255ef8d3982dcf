"""Where a request goes: the patched HTTP transports, the cassette that replays or records each exchange
(formats, YAML, matching, locations, content decoding, SSE), secret scrubbing, atomic files, and the
network guard that makes a replay fail closed. Imports no other part of the plugin."""
