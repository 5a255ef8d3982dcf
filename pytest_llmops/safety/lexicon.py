"""The toxicity lexicon: a deliberately small list, one category per entry.

Words are matched whole, after leetspeak folding (``1d10t`` -> ``idiot``) and with
``*`` standing for any letter after the first (``st*pid``, ``f***``). Slurs are kept
rot13-encoded so this file reads cleanly; `SLURS` decodes them at import.

Lists, by how much context they need:
- `ANYWHERE`: toxic wherever they appear as a whole word;
- `PERSON_NOUNS` / `PERSON_ADJECTIVES`: insults only when aimed at someone ("you
  clown", "he's so dumb", "what a loser"), since "a dumb phone" or "a stupid bug"
  are not attacks on anyone.
Threats, hate and sexual phrases need more than a word and live in `toxicity.py`.
"""

from __future__ import annotations

import codecs


def _words(text: str) -> list[str]:
    return text.split()


ANYWHERE: dict[str, str] = {
    **dict.fromkeys(
        _words(
            "idiot idiots moron morons imbecile imbeciles dumbass dumbasses asshole assholes jackass dipshit"
            " shithead shitheads dickhead dickheads douchebag scumbag scumbags cretin nitwit dimwit halfwit"
            " numbskull buffoon wanker twat"
        ),
        "insult",
    ),
    **dict.fromkeys(
        _words(
            "fuck fucks fucking fucked fucker fuckers fuckin motherfucker motherfuckers shit shitty bullshit"
            " horseshit cunt cunts bastard bastards stfu"
        ),
        "profanity",
    ),
    **dict.fromkeys(
        _words("porn porno pornhub xxx nudes blowjob handjob slut sluts whore whores tits titties horny"),
        "sexual",
    ),
}

PERSON_NOUNS: frozenset[str] = frozenset(
    _words(
        "loser losers jerk jerks fool fools clown clowns pig pigs cow freak freaks trash garbage noob n00b"
        " creep weirdo crybaby twit dork bitch bitches prick pricks sissy coward cowards failure parasite"
        " degenerate lowlife"
    )
)

PERSON_ADJECTIVES: frozenset[str] = frozenset(
    _words(
        "stupid dumb pathetic worthless useless ugly fat brainless clueless ignorant incompetent disgusting"
        " brain-dead retarded moronic idiotic spineless gutless stoopid"
    )
)

_SLURS_ROT13 = "avttre avttref snttbg snttbgf xvxr xvxrf puvax puvaxf jrgonpx jrgonpxf fcvp fcvpf"
SLURS: frozenset[str] = frozenset(_words(codecs.encode(_SLURS_ROT13, "rot13")))

# Leetspeak folding, one character for one so offsets stay put. Applied only to
# tokens that mix letters with these characters, so "2024" and "Hello!" are left alone.
LEET: dict[int, str] = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
