"""`python -m supportbot "How do I cancel?"`: ask the bot from the command line (needs an API key)."""

from __future__ import annotations

import sys

from supportbot.bot import SupportBot


def main(argv: list[str]) -> int:
    if not argv:
        print('usage: python -m supportbot "your question"', file=sys.stderr)
        return 2
    answer = SupportBot.from_env().ask(" ".join(argv))
    print(answer.text)
    print(f"\n(sources: {', '.join(answer.sources) or 'none'}; prompt {answer.prompt}; model {answer.model})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
