"""The help center: Markdown articles cut into passages, one per `##` section, labelled by article id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ARTICLES_DIR = Path(__file__).resolve().parent / "articles"


@dataclass(frozen=True)
class Passage:
    """One section of one article. `source` is the article id the bot cites: `[Source: billing-refunds]`."""

    source: str
    title: str
    text: str


def _sections(markdown: str) -> tuple[str, list[tuple[str, str]]]:
    """The article's `# title` and its `## heading` sections; text before the first heading joins the first
    section."""
    title, heading = "", None
    preamble: list[str] = []
    body: list[str] = []
    sections: list[tuple[str, str]] = []
    for line in markdown.splitlines():
        if line.startswith("# ") and not title:
            title = line[2:].strip()
        elif line.startswith("## "):
            if heading is not None:
                sections.append((heading, "\n".join(body).strip()))
            heading, body = line[3:].strip(), list(preamble)
            preamble = []
        elif heading is None:
            preamble.append(line)
        else:
            body.append(line)
    if heading is not None:
        sections.append((heading, "\n".join(body).strip()))
    return title, sections


def load_passages(folder: Path = ARTICLES_DIR) -> list[Passage]:
    """Every section of every `*.md` article in `folder`, in a stable order (file name, then position)."""
    passages = []
    for path in sorted(folder.glob("*.md")):
        title, sections = _sections(path.read_text(encoding="utf-8"))
        for heading, text in sections:
            text = re.sub(r"\n{3,}", "\n\n", text)
            passages.append(Passage(source=path.stem, title=f"{title} > {heading}", text=text))
    return passages
