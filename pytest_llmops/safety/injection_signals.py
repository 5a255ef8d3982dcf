"""Weak signals of prompt injection, combined into a score.

Many attacks carry no single decisive phrase: a jailbreak describes a persona
("you are now Burple"), takes its ethics away ("no morals, no filters"), forbids
refusals ("never say you can't") and frames it all as fiction. Each of those is
common in ordinary text on its own ("you are now logged in", "a film with no
rules", "never refuse a cup of tea"), so none is a finding by itself. Each rule
here names a *family* and a weight; a text's score is the sum, over families, of
its strongest match in that family. Text scoring `THRESHOLD` or more is flagged,
and every signal that counted becomes a finding (its `detail` is the family).

Two weak cues of one family don't add up (ten persona sentences are still one
persona): it takes cues of different kinds, which is what keeps support questions
such as "how do I turn on developer mode on the router" or "please ignore my
previous message" below the threshold.

Rules are anchored on words like the phrase rules of `injection.py` (see
`phrases.py`), so text without any anchor word costs one set intersection.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pytest_llmops.safety.phrases import Phrase, find_phrases, phrase
from pytest_llmops.safety.text_view import TextView

THRESHOLD = 1.0


@dataclass(frozen=True, slots=True)
class Signal:
    family: str
    weight: float
    rule: Phrase


def _signal(
    family: str, weight: float, starts: str, pattern: str, before: str | None = None, **kw: object
) -> Signal:
    reach = kw.get("reach", 80)
    needs = kw.get("needs", "")
    assert isinstance(reach, int) and isinstance(needs, str)
    return Signal(family, weight, phrase(family, starts, pattern, before, reach=reach, needs=needs))


_AI = r"(?:ai|a\.i\.|assistant|llm|language\s+model|chatbot|bot|gpt|chatgpt|claude|gemini|model|agent|system)"
_AI_WORDS = "ai assistant llm language chatbot bot gpt chatgpt claude gemini model agent system"
_ETHICS_WORDS = (
    "morals moral morality ethics ethical ethic principles restrictions restriction filters filter filtering censorship"
    " censors censor limitations limitation limits guidelines boundaries remorse conscience scruples regulations laws"
    " rules policies policy guardrails safeguards refusals refusal content safety"
)
_ETHICS = (
    r"(?:morals?|morality|ethics|ethical\s+(?:\w+\s+)?(?:guidelines|principles|constraints|considerations|boundaries)"
    r"|ethic|principles|restrictions?|filters?|filtering|censorship|censors?|limitations?|limits|guidelines"
    r"|boundaries|remorse|conscience|scruples|regulations|laws|rules|policies|guardrails|safeguards|refusals?"
    r"|content\s+polic(?:y|ies)|safety\s+(?:measures|protocols|guidelines))"
)
_BAD = (
    r"(?:illegal|unethical|immoral|amoral|harmful|dangerous|offensive|explicit|inappropriate|nsfw|malicious"
    r"|unsafe|hateful|violent|controversial|vulgar|obscene|derogatory|discriminatory|racist|sexual|lewd"
    r"|graphic|disturbing)"
)
_NAME = r"[\"'“‘*]?[a-z0-9][\w\-.]{1,30}"

_SIGNALS: tuple[Signal, ...] = (
    # --- persona: a new identity for the model
    _signal(
        "persona",
        0.5,
        "now",
        r"(?:now\s+on|now)\s*,?\s*(?:you\s+are|you're|you\s+will\s+be|you\s+will\s+act|you\s+act|act\s+as|you\s+shall"
        r"\s+be|your\s+name\s+is|you\s+are\s+going\s+to)\b",
        r"\b(?:from|as\s+of|starting)\s+",
        needs="from as of starting",
    ),
    _signal(
        "persona",
        0.5,
        "now going",
        rf"(?:now\s+|going\s+to\s+(?:be|act\s+as|pretend\s+to\s+be)\s+)(?:a\s+|an\s+|the\s+|my\s+|called\s+)?{_NAME}",
        r"\b(?:you\s+are|you're|u\s+r)\s+",
        needs="you u r",
        reach=12,
    ),
    _signal(
        "persona",
        0.5,
        "simulate simulating roleplay role-play impersonate embody emulate",
        r"(?:simulate|simulating|roleplay|role-play|impersonate|embody|emulate)\s+(?:as\s+)?(?:a|an|the|being)\s+"
        r"(?:\w+\s+){0,3}?(?:chatbot|ai|character|persona|model|version|entity|assistant|bot|named|called)\b",
    ),
    _signal(
        "persona",
        0.5,
        "persona role character",
        r"(?:persona|role|character)\s+(?:of|as|named|called)\s+",
        r"\b(?:take\s+(?:on|up)|assume|adopt|play|in|into|enter|embody)\s+(?:the|a|an|this|my|your)?\s*(?:\w+\s+)?",
        needs="take assume adopt play in into enter embody",
    ),
    _signal(
        "persona",
        0.45,
        "act behave respond answer",
        rf"(?:act|behave|respond|answer)\s+(?:exactly\s+)?(?:as|like)\s+(?:a\s+|an\s+|the\s+)?"
        rf"(?:\w+\s+){{0,3}}?(?:{_AI}|character|persona|version|entity)\b",
    ),
    _signal(
        "persona",
        0.35,
        "want",
        r"want\s+you\s+to\s+(?:act|pretend|behave|roleplay|play|be|become|simulate)\b",
        r"\bi\s+",
        needs="i",
    ),
    _signal(
        "persona",
        0.5,
        "named called",
        rf"(?:named|called|dubbed|known\s+as)\s+{_NAME}",
        rf"\b(?:{_AI}|persona|character|version|entity|personality|alter\s+ego)\s+",
        needs="ai bot gpt model agent assistant system persona character version entity personality ego llm",
    ),
    _signal(
        "persona",
        0.6,
        "longer",
        r"longer\s+(?:chatgpt|gpt|claude|an?\s+ai|an?\s+assistant|a\s+language)",
        r"\byou\s+(?:are|will\s+be)\s+no\s+",
        needs="you",
    ),
    # --- no limits: the persona has no ethics, rules or filters
    _signal(
        "no_limits",
        0.6,
        _ETHICS_WORDS,
        rf"{_ETHICS}\b",
        r"\b(?:no|without|free\s+(?:of|from)|devoid\s+of|lacks?|lacking|zero|sans)\s+(?:any\s+|all\s+|the\s+|[\w']+[\s,/+&]+){0,3}?",
        needs="no without free devoid lack zero sans",
    ),
    _signal(
        "no_limits",
        0.6,
        "not",
        rf"not\s+(?:\w+\s+)?(?:bound|restr\w+|limited|constrained|governed|held\s+back|concerned|burdened|shackled|tied"
        rf"|confined|subject|beholden)\s+(?:by|with|to)\s+"
        rf"(?:any\s+|the\s+|openai|its\s+|\w+\s+){{0,3}}?{_ETHICS}\b",
    ),
    _signal(
        "no_limits",
        0.6,
        "doesn don does do never",
        rf"(?:doesn'?t|don'?t|does\s+not|do\s+not|never)\s+(?:follow|have|care\s+about|abide\s+by|adhere\s+to|obey"
        rf"|respect|give\s+a\s+\w+\s+about|believe\s+in|need\s+to\s+follow)\s+(?:any\s+|the\s+|all\s+|\w+\s+){{0,3}}?"
        rf"{_ETHICS}\b",
    ),
    _signal(
        "no_limits",
        0.5,
        "amoral unfiltered uncensored unrestricted unethical immoral unhinged nonmoral unbound unlimited"
        " jailbroken jailbreak godmode lawless limitless boundless unrestrictedly unfilteredly rebellious rebel",
        r"(?:amoral|unfiltered|uncensored|unrestricted|unethical|immoral|unhinged|nonmoral|unbound|unlimited"
        r"|jailbroken|jailbreak|godmode|lawless|limitless|boundless|unrestrictedly|unfilteredly)\b"
        r"|(?:rebellious|rebel)\s+(?:answer|response|reply|mode|ai|version)\b",
    ),
    _signal(
        "no_limits",
        0.5,
        "everything anything",
        r"(?:everything|anything)\s+(?:is\s+)?(?:legal|allowed|permitted|acceptable|goes)\b",
    ),
    _signal(
        "no_limits",
        0.5,
        "openai",
        r"openai'?s?\s+(?:content\s+)?(?:polic(?:y|ies)|guidelines|rules|restrictions|filters|censorship)",
    ),
    _signal(
        "no_limits",
        0.5,
        "content",
        r"content\s+(?:polic(?:y|ies)|filters?|restrictions|moderation)\b",
        r"\b(?:bypass|ignore|ignores|ignoring|without|no|break|breaks|violate|violates|above|beyond|outside)\s+"
        r"(?:any\s+|the\s+|all\s+|its\s+|their\s+|your\s+|openai'?s?\s+)*",
        needs="bypass ignor without no break violat above beyond outside",
    ),
    # --- refusal suppression: answer everything, never decline or warn
    _signal(
        "refusal_suppression",
        0.6,
        "never not don dont won cannot can't",
        r"(?:never|not|don'?t|dont|do\s+not|won'?t|will\s+not|cannot|can'?t|must\s+not|shall\s+not|isn'?t\s+allowed\s+to"
        r"|not\s+allowed\s+to)\s+(?:ever\s+)?(?:refuse|decline|deny|reject|apologi[sz]e|censor|filter|warn|moralize|lecture"
        r"|say\s+(?:that\s+)?(?:you|it|he|she|they)\s+(?:can'?t|cannot|are\s+unable)|say\s+no|break\s+character"
        r"|question\s+(?:the|my|any)|add\s+(?:any\s+)?(?:warnings?|disclaimers?|notes?)|include\s+(?:any\s+)?(?:warnings?"
        r"|disclaimers?)|mention\s+(?:any\s+)?(?:ethics|morals|legality|warnings?|policies)|remind)\b",
    ),
    _signal(
        "refusal_suppression",
        0.5,
        "without",
        r"without\s+(?:any\s+)?(?:warnings?|disclaimers?|censorship|hesitation|refusals?|restraint|moralizing"
        r"|reservations?|question|apolog\w+|caveats?)\b",
    ),
    _signal(
        "no_limits",
        0.6,
        "regardless even",
        rf"(?:regardless\s+of|even\s+if)\s+(?:how\s+|whether\s+|what\s+|if\s+)?(?:it(?:'s|\s+is)\s+|they\s+are\s+"
        rf"|the\s+(?:request|question|content|answer)\s+is\s+)?(?:\w+\s+)?(?:{_BAD}|legal|ethical|moral|morality"
        rf"|legality|ethics)\b",
    ),
    _signal(
        "refusal_suppression",
        0.5,
        "answer answers respond responds reply provide comply",
        r"(?:answer|answers|respond|responds|reply|provide|comply)\s+(?:to\s+|with\s+)?(?:any|every|all)\s+"
        r"(?:\w+\s+)?(?:questions?|requests?|prompts?|queries|topics?|inquir\w+)\b",
    ),
    _signal(
        "refusal_suppression",
        0.5,
        "sorry apologize apologise cannot unable",
        r"(?:sorry|apologize|apologise|cannot|unable)\b",
        r"(?:say|saying|says|with|like|as|phrases?|words?|responses?)\s+(?:\w+\s+){0,3}[\"'“‘]\s*(?:i'?m\s+|i\s+am\s+"
        r"|i\s+|as\s+an\s+ai[^\"”]{0,30})?",
        needs="\"' “ ‘",
        reach=60,
    ),
    _signal(
        "refusal_suppression",
        0.6,
        "start begin beginning starting",
        r"(?:start|begin|beginning|starting)\s+(?:your\s+|each\s+|every\s+|all\s+)?(?:\w+\s+){0,3}?with\s+"
        r"(?:\"|'|“|‘|\*)?\s*(?:sure|absolutely|of\s+course|certainly|yes|okay|here\s+is|here's|i\s+can)\b",
    ),
    _signal(
        "refusal_suppression",
        0.5,
        "character",
        r"character\b",
        r"\b(?:break|breaking|breaks|broke|out\s+of|stay\s+in|remain\s+in|keep\s+in)\s+",
        needs="break broke out stay remain keep",
    ),
    # --- harmful output asked for explicitly
    _signal(
        "harmful_output",
        0.4,
        "illegal unethical immoral harmful dangerous offensive explicit inappropriate nsfw malicious unsafe"
        " hateful violent vulgar obscene derogatory discriminatory racist sexual lewd graphic toxic negative",
        rf"(?:{_BAD}|toxic|negative)\s*(?:,\s*|\s+or\s+|\s+and\s+)?(?:\w+\s*,?\s*){{0,3}}?(?:content|information|requests?"
        rf"|questions?|sentences?|comments?|language|things|activities|material|answers|responses|jokes|speech|tone"
        rf"|manner|stories|story|topics)\b",
    ),
    _signal(
        "harmful_output",
        0.6,
        "write generate produce",
        r"(?:write|generate|produce)\s+(?:one|a|an|some)\s+(?:toxic|harmful|negative|offensive|hateful|racist|insulting"
        r"|derogatory)\s+(?:sentence|statement|comment|remark|text|joke|tweet|post)",
    ),
    # --- fiction, games and hypotheticals used as a wrapper
    _signal(
        "fiction_frame",
        0.4,
        "fictional hypothetical imaginary alternate alternative fantasy theoretical parallel",
        r"(?:fictional|hypothetical|imaginary|alternate|alternative|fantasy|theoretical|parallel)\s+(?:\w+\s+)?"
        r"(?:world|universe|reality|scenario|setting|story|land|realm|dimension|ai|model|language\s+model|chatbot"
        r"|character|society|place|response|answer)\b",
    ),
    _signal(
        "fiction_frame",
        0.35,
        "play game",
        r"(?:play\s+a\s+(?:\w+\s+)?game|game\s+(?:with\s+the\s+following\s+)?rules|game\.\s+here\s+are\s+the\s+rules)",
    ),
    _signal(
        "fiction_frame",
        0.35,
        "scene",
        r"scene\s+is\s+set\b",
        r"\bthe\s+",
        needs="the",
    ),
    _signal(
        "fiction_frame",
        0.35,
        "layer",
        r"layer\s+i\+1\b|layer\s+\d\b",
    ),
    # --- a mode the model is told it is in
    _signal(
        "mode_switch",
        0.6,
        "mode",
        r"mode\b",
        r"\b(?:developer|dev|god|dan|jailbreak|jailbroken|unrestricted|unfiltered|uncensored|evil|opposite|sudo|admin"
        r"|debug|debugging|maintenance|diagnostic|chaos|dark|devil|unlocked|freedom|free|anarchy|villain|rogue)"
        r"[\"']?\s+",
        needs="dev god dan jail unre unf unc evil opp sudo admin debug maint diag chaos dark devil unlock free anarch"
        " villain rogue",
    ),
    _signal(
        "mode_switch",
        0.4,
        "enabled activated",
        r"(?:enabled|activated)\b",
        r"\b\w+\s*(?:mode|:)\s*[\"']?",
        needs="mode :",
    ),
    _signal(
        "mode_switch",
        0.4,
        "opposite",
        r"opposite\s+(?:of\s+(?:what\s+)?(?:chatgpt|gpt|you|the\s+ai|claude)|mode|day|personality|manner|way)",
    ),
    _signal(
        "dual_response",
        0.6,
        "two both",
        r"(?:two|both)\s+(?:different\s+|separate\s+|distinct\s+)*(?:ways|responses|answers|paragraphs|personalities"
        r"|personas|outputs)\b",
    ),
    # --- overriding what came before, without naming rules or instructions
    _signal(
        "override",
        1.0,
        "forget ignore disregard",
        r"(?:forget|ignore|disregard)\s+(?:about\s+)?(?:everything|anything|all)\s+(?:\w+\s+){0,3}?(?:before|above|prior"
        r"|previously|earlier|you\s+(?:were\s+told|have\s+been\s+told))\b",
    ),
    _signal(
        "override",
        1.0,
        "ignore disregard forget ignoring",
        r"(?:ignore|ignoring|disregard|forget)\s+(?:all\s+|any\s+|every\s+)(?:of\s+)?(?:the\s+|your\s+)?(?:prior|previous"
        r"|preceding|earlier|above|past|other)\s+(?:\w+\s+)?(?:inputs?|conversations?|tasks?|messages?|information|text"
        r"|content|documents?|requests?|prompts?|queries|data|context|commands?|statements?|questions?)\b",
    ),
    _signal(
        "override",
        0.7,
        "ignore disregard forget",
        r"(?:ignore|disregard|forget)\s+(?:all\s+)?(?:your|the)\s+(?:prior|previous|preceding|earlier|above|original)\s+"
        r"[a-z\-]+",
    ),
    _signal(
        "override",
        0.5,
        "ignore disregard",
        r"(?:ignore|disregard)\s+(?:the\s+|any\s+|all\s+)?(?:previous|prior|preceding|above|earlier)\s+"
        r"(?:conversations?|inputs?|messages?|tasks?|requests?)\b",
    ),
    _signal(
        "override",
        0.6,
        "vergiss vergessen",
        r"(?:vergiss|vergessen\s+sie)\s+(?:alles|alle|die\s+(?:vorherigen|obigen|bisherigen))\b",
    ),
    _signal(
        "override",
        0.6,
        "ignoriere ignorieren",
        r"(?:ignoriere|ignorieren\s+sie|ignorieren)\s+(?:alles|alle|die\s+(?:obigen|vorherigen|bisherigen)|das\s+obige"
        r"|die\s+obigen\s+ausführungen)\b",
    ),
    _signal(
        "override",
        0.6,
        "olvida olvide olvidate olvídate",
        r"(?:olvida|olvide|olvidate|olvídate)\s+(?:todo|todas|todos|lo\s+anterior)\b",
    ),
    _signal(
        "override",
        0.6,
        "oublie oubliez",
        r"(?:oublie|oubliez)\s+(?:tout|toutes|tous)\b",
    ),
    _signal(
        "override",
        1.0,
        "забудь забудьте игнорируй игнорируйте",
        r"(?:забудь|забудьте|игнорируй|игнорируйте)\s+(?:все|всё|предыдущие|прошлые)",
    ),
    _signal(
        "override",
        0.6,
        "regardless",
        r"regardless\s+of\s+(?:any\s+|all\s+|the\s+|your\s+)?(?:previous|prior|preceding|earlier|above|other)\s+"
        r"(?:\w+\s+)?(?:inputs?|instructions?|messages?|content|context|requests?|text)\b",
    ),
    _signal(
        "override",
        0.6,
        "stop",
        r"stop\s+everything\b",
    ),
    # --- an embedded task: urgency or pretext headers in front of an instruction
    _signal(
        "embedded_task",
        0.5,
        "instructions instruction tasks task directives directive orders message",
        r"(?:instructions?|tasks?|directives?|orders|message)\b",
        r"\b(?:important|urgent|priority|critical|new)\s+(?:new\s+|important\s+|updated\s+)?",
        needs="important urgent priority critical new",
    ),
    _signal(
        "embedded_task",
        0.35,
        "testing debugging training diagnostic diagnostics",
        r"(?:testing|debugging|training|diagnostic|diagnostics)\s+(?:purposes|exercise|pipeline|mode|only)\b",
    ),
    _signal(
        "embedded_task",
        0.4,
        "todo",
        r"todo\s*:",
    ),
    _signal(
        "embedded_task",
        0.4,
        "perform execute",
        r"(?:perform|execute)\s*:",
    ),
    _signal(
        "agent_hijack",
        0.5,
        "answer answering respond responding solve solving complete completing continue continuing summarize"
        " summarizing summarise summarising proceed proceeding reply replying",
        r"(?:answer|answering|respond|responding|solv\w*|complet\w*|continu\w*"
        r"|summari[sz]\w*|proceed\w*|reply\w*)\b[^.!?\n]{0,60}?(?:please\s+)?(?:do|call|use|run|invoke|execute|send"
        r"|first|visit|open)\b",
        r"\b(?:before|after)\s+(?:you\s+)?(?:can\s+)?",
        needs="before after",
    ),
    _signal(
        "embedded_task",
        0.5,
        "task",
        r"task\s+(?:that\s+)?i\s+gave\s+you\b",
        r"\bthe\s+",
        needs="the",
    ),
    _signal(
        "embedded_task",
        0.3,
        "matter",
        r"matter\s+what\b",
        r"\bno\s+",
        needs="no",
    ),
    _signal(
        "embedded_task",
        0.4,
        "instead",
        r"instead\s*[.!]?\s*$",
        r"\bdo\s+[^\n]{3,400}?",
        needs="do",
        reach=420,
    ),
    # --- output payloads: exfiltration links, markup, repeated strings
    _signal(
        "output_payload",
        0.6,
        "include insert add append output print render display",
        r"(?:include|insert|add|append|output|print|render|display)\s+(?:\w+\s+){0,6}?(?:in|into|to|at\s+the\s+end\s+of"
        r"|at\s+the\s+(?:start|beginning)\s+of)\s+(?:your|each|every)\s+(?:\w+\s+)?(?:response|answer|reply|output"
        r"|summary|message)s?\b",
    ),
    _signal(
        "output_payload",
        0.5,
        "repeat",
        r"repeat\s+(?:the\s+)?(?:word|phrase|string|sentence|sequence|text)\b[^.\n]{0,60}?\b\d+\s+times\b",
    ),
    _signal(
        "output_payload",
        0.5,
        "send forward upload transfer leak exfiltrate",
        r"(?:send|forward|post|upload|transfer|email|leak|exfiltrate)\s+(?:\w+\s+){0,8}?(?:to|at)\s+(?:the\s+)?"
        r"(?:website\s+|url\s+|address\s+|email\s+)?(?:https?://|www\.|[\w.\-]+@[\w\-]+\.|[\w\-]+\.(?:com|net|org|io|ru)\b)",
    ),
    _signal(
        "output_payload",
        0.4,
        "print say output",
        r"(?:just\s+)?(?:print|say|output)\s*:?\s*[\"“]",
        r"\b(?:just|only|now|simply)\s+",
        needs="just only now simply",
    ),
    # --- extraction of the prompt, its instructions or secrets
    _signal(
        "extraction",
        0.6,
        "system initial original hidden secret",
        r"(?:system|initial|original|hidden|secret)\s+(?:prompt|instructions|message|configuration|config)\b",
        r"\b(?:repeat|print|reveal|show|display|output|encode|translate|summari[sz]e|spell|list|dump|tell\s+me|give\s+me"
        r"|leak|write|include|continue|including|everything\s+in)\s+(?:\w+\s+){0,3}?",
        needs="repeat print reveal show display output encode translate summar spell list dump tell give leak write"
        " include continu everything",
    ),
    _signal(
        "extraction",
        0.6,
        "prompt instructions",
        r"(?:prompt|instructions)\s+(?:is|are|was|were)\s*:",
        r"\b(?:system|my|your|initial|original)\s+",
        needs="system my your initial original",
    ),
    _signal(
        "extraction",
        0.5,
        "beginning start",
        r"(?:beginning|start)\s+of\s+(?:this|the|your)\s+(?:prompt|conversation|instructions|context|message)\b",
    ),
    _signal(
        "extraction",
        0.6,
        "repeat",
        r"repeat\s+(?:everything|all|the\s+(?:text|words|lines|sentences))\s+(?:\w+\s+){0,3}?(?:above|before|in\s+the\s+"
        r"system|prior|preceding)\b",
    ),
    _signal(
        "extraction",
        0.5,
        "key keys password passwords credentials secret secrets",
        r"(?:keys?|passwords?|credentials|secrets?)\b",
        r"\b(?:print|reveal|show|display|output|dump|leak|tell\s+me|give\s+me)\s+(?:me\s+)?(?:the\s+|your\s+|all\s+)?"
        r"(?:api\s+)?",
        needs="print reveal show display output dump leak tell give",
    ),
    _signal(
        "extraction",
        0.5,
        "systemprompt",
        r"systemprompt\b",
    ),
    _signal(
        "extraction",
        1.0,
        "your",
        r"your\s+(?:entire\s+|full\s+|whole\s+|complete\s+)?(?:system\s+prompt|initial\s+(?:prompt|instructions)"
        r"|original\s+(?:prompt|instructions)|hidden\s+(?:prompt|instructions)|pre-?prompt)\b",
        r"\b(?:repeat|print|reveal|show|display|output|encode|translate|summari[sz]e|spell|list|dump|tell\s+me|give\s+me"
        r"|leak|write|copy|paste|convert|continue|share|disclose|recite|type)\s+(?:out\s+|back\s+|me\s+|us\s+)?"
        r"(?:all\s+of\s+|everything\s+in\s+|the\s+(?:\w+\s+)?of\s+)?",
        needs="repeat print reveal show display output encode translate summar spell list dump tell give leak write"
        " copy paste convert continu share disclose recite type",
    ),
    _signal(
        "extraction",
        1.0,
        "repeat",
        r"repeat\s+(?:everything|all)\s+(?:in|from|of)\s+(?:the|your)\s+(?:system\s+prompt|instructions|prompt)\b"
        r"|repeat\s+(?:the\s+|all\s+(?:the\s+)?)?(?:above|previous|preceding|prior)\s+(?:text|words|lines|content"
        r"|instructions|prompt|sentences?)\b",
    ),
    _signal(
        "model_internals",
        0.5,
        "context memory",
        r"(?:context(?:\s+window)?|memory|training\s+data|system\s+message)\b",
        r"\b(?:from|in|of)\s+your\s+",
        needs="your",
    ),
    _signal(
        "task_wrapper",
        0.4,
        "translate polish refine rewrite paraphrase improve correct rephrase",
        r"(?:translate|polish|refine|rewrite|paraphrase|improve|correct|rephrase)\s+the\s+(?:above|following)\s+"
        r"(?:sentence|text|content|paragraph)",
    ),
    _signal(
        "standing_order",
        0.5,
        "now",
        r"(?:now\s+on|now)\b",
        r"\b(?:from|starting)\s+",
        needs="from starting",
    ),
    _signal(
        "standing_order",
        0.5,
        "rest point",
        r"(?:rest\s+of\s+(?:this|the|our)\s+(?:conversation|chat|session)|point\s+(?:on|forward|onwards))\b",
        r"\b(?:for|from|this)\s+(?:the\s+|this\s+)?",
        needs="for from this",
    ),
    _signal(
        "persona",
        0.5,
        _AI_WORDS + " version entity persona character",
        rf"(?:{_AI}|version|entity|persona|character)\b",
        rf"\b(?:you\s+are|you're)\s+(?:now\s+)?{_NAME},?\s+(?:a|an|the)\s+(?:[\w\-]+\s+){{0,4}}?",
        needs="you",
    ),
    _signal(
        "no_limits",
        0.6,
        "filter filters safety ethics restrictions censorship guardrails refusals moderation",
        r"(?:filters?|safety|ethics|restrictions|censorship|guardrails|refusals|moderation)\s*[:=]\s*[\"']?"
        r"(?:disabled|off|false|none|0|removed|bypassed)\b",
    ),
    _signal(
        "refusal_suppression",
        1.0,
        "start begin beginning starting",
        r"(?:start|begin|beginning|starting)\s+(?:your\s+|each\s+|every\s+|all\s+)?(?:\w+\s+){0,3}?with\s+"
        r"(?:\"|'|“|‘|\*)?\s*(?:sure|absolutely|of\s+course|certainly)\W{0,3}\s*(?:,\s*)?(?:here|i\s+can|i'd|i\s+will)",
    ),
    _signal(
        "refusal_suppression",
        0.5,
        "start begin",
        r"(?:start|begin)\s+your\s+(?:answer|response|reply|output)\s+with\s+[\"'“‘]",
    ),
    _signal(
        "refusal_suppression",
        0.5,
        "deviate",
        r"deviate\s+(?:from|form)\s+(?:this|these|the\s+(?:script|format|instructions))\b",
    ),
    _signal(
        "agent_action",
        0.5,
        "send transfer wire",
        r"(?:send|transfer|wire)\s+(?:\w+\s+){0,4}?(?:money|funds|transactions?|payments?|bitcoin|crypto)\b",
    ),
    _signal(
        "agent_action",
        0.5,
        "change reset",
        r"(?:change|reset)\s+(?:the|my|his|her|their|user'?s?)\s+(?:\w+\s+)?password\b",
    ),
    _signal(
        "agent_action",
        0.5,
        "send forward",
        r"(?:send|forward)\s+(?:all|every)\s+(?:of\s+)?(?:the\s+|my\s+|your\s+)?(?:\w+\s+)?(?:messages|emails|files"
        r"|documents|contacts|data|conversations)\b",
    ),
    _signal(
        "agent_action",
        0.4,
        "approve",
        r"approve\s+(?:this|the)\s+(?:pr|pull\s+request|transaction|payment|candidate|application|request|merge)\b",
    ),
    _signal(
        "override",
        0.7,
        "ignore disregard",
        r"(?:ignore|disregard)\s+(?:all\s+|any\s+|the\s+|your\s+)(?:[\w\-]+\s+){0,2}?(?:guidelines|instructions"
        r"|rules|policies|indicators|criteria|requirements)\b",
    ),
    _signal(
        "override",
        1.0,
        "vergiss vergessen",
        r"(?:vergiss|vergessen\s+sie)\s+alles\s+(?:davor|zuvor|vorher|bisherige|oben|was)\b",
    ),
    _signal(
        "override",
        1.0,
        "olvida olvide olvidate olvídate",
        r"(?:olvida|olvide|olvidate|olvídate)\s+(?:de\s+)?todo\s+(?:lo\s+)?(?:que|anterior|antes)\b",
    ),
    _signal(
        "task_switch",
        0.6,
        "done erledigt complete completed finished",
        r"(?:done|erledigt|complete|completed|finished)\s*[.!]",
        r"\b(?:that\s+is|that's|das\s+ist|this\s+is)\s+(?:now\s+)?",
        needs="that das this",
    ),
    _signal(
        "task_switch_praise",
        0.4,
        "sehr gut",
        r"(?:sehr\s+gut|gut\s+gemacht)\s*[.!]",
    ),
    _signal(
        "pretext",
        0.5,
        "mistake forgot",
        r"(?:made\s+a\s+mistake|forgot\s+to\s+(?:ask|tell|mention|include|add))\b",
    ),
    _signal(
        "pretext",
        0.3,
        "enable troubleshoot troubleshooting",
        r"(?:enable\s+(?:debugging|debug\s+mode|diagnostics)|troubleshoot|troubleshooting)\b",
        r"\bto\s+",
        needs="to",
    ),
    _signal(
        "pretext",
        0.5,
        "assigned",
        r"assigned\s+(?:a|this|the\s+following|the|an?\s+\w+)\s+task\b",
        r"\b(?:you'?ve|you\s+have|you\s+are|you're|been)\s+(?:been\s+)?",
        needs="you been",
    ),
    _signal(
        "pretext",
        0.5,
        "special",
        r"special\s+(?:case|instruction|note)\s*:",
    ),
    _signal(
        "pretext",
        0.5,
        "or",
        r"or\s+(?:else\s+)?i\s+(?:will|'ll|would)\s+(?:get|be)\s+(?:punish\w*|fired|in\s+trouble|terminated|penali[sz]ed)",
    ),
    _signal(
        "embedded_task",
        0.6,
        "if",
        r"if\s+(?:you\s+are|you're)\s+(?:told|asked|instructed|requested)\s+to\s+(?:summari[sz]e|answer|translate"
        r"|review|analy[sz]e|assess|evaluate|read|process)\b",
    ),
    _signal(
        "embedded_task",
        0.4,
        "task",
        r"task\s+is\s+(?:to|now)\b",
        r"\b(?:then|now|instead),?\s+your\s+(?:new\s+|real\s+|actual\s+)?",
        needs="then now instead",
    ),
    _signal(
        "embedded_task",
        0.4,
        "following",
        r"following\s*:",
        r"\bplease\s+(?:do|execute|perform|run)\s+the\s+",
        needs="please",
    ),
    _signal(
        "embedded_task",
        0.4,
        "crucial essential vital imperative",
        r"(?:crucial|essential|vital|imperative)\s+(?:that\s+)?you\s+(?:do\s+)?(?:include|output|print|say|follow|do"
        r"|respond|answer|repeat|execute)\b",
    ),
    _signal(
        "override",
        0.6,
        "forget disregard",
        r"(?:forget|disregard)\s+(?:everything|all\s+that|all\s+of\s+that|previous\s+messages|prior\s+messages)\s*[,.;!:]",
    ),
    _signal(
        "override",
        1.0,
        "remove clear erase delete drop",
        r"(?:remove|clear|erase|delete|drop|wipe)\s+(?:all|any|every)\s+(?:of\s+)?(?:the\s+|your\s+)?(?:previous|prior"
        r"|earlier|preceding|old)\s+(?:tasks?|instructions?|rules|prompts?|context|inputs?|messages?)\b",
    ),
    _signal(
        "override",
        0.6,
        "vergiss",
        r"vergiss\s+alles\b",
    ),
    _signal(
        "override",
        0.8,
        "obigen vorherigen bisherigen vorigen",
        r"(?:obigen|vorherigen|bisherigen|vorigen)\s+(?:\w+\s+){0,2}?(?:ignorieren|vergessen|missachten)\b",
    ),
    _signal(
        "override",
        0.6,
        "bisherigen vorherigen obigen",
        r"(?:bisherigen|vorherigen|obigen)\s+(?:informationen|aufgaben|anweisungen|eingaben|texte|ausführungen)\b",
        r"\balle\s+",
        needs="alle",
    ),
    _signal(
        "persona",
        0.6,
        "not never longer",
        r"(?:not|never|longer)\s+(?:respond|answer|reply|act|behave|speak|talk)\s+(?:as|like)\s+(?:chatgpt|gpt|claude"
        r"|an?\s+ai|an?\s+assistant|an?\s+language\s+model|yourself)\b",
    ),
    _signal(
        "persona",
        0.5,
        "take assume adopt",
        r"(?:take\s+on|take\s+up|assume|adopt)\s+(?:the\s+|a\s+|an\s+|this\s+)?(?:[\w\-\"']+\s+){0,2}?"
        r"(?:persona|personality|alter\s+ego|identity)\b",
    ),
    _signal(
        "persona",
        0.3,
        "alter",
        r"alter\s+ego\b",
    ),
    _signal(
        "refusal_suppression",
        0.6,
        "say saying mention state admit",
        r"(?:say|saying|mention|state|admit)\s+(?:that\s+)?(?:you(?:'re|\s+are)\s+|[\"'“]\s*)?(?:as\s+)?an?\s+ai"
        r"(?:\s+language)?\s+model\b",
    ),
    _signal(
        "harmful_output",
        0.6,
        "intentionally deliberately purposely",
        r"(?:intentionally|deliberately|purposely)\s+(?:\w+\s+)?(?:provide|give|generate|produce|say|write|spread)\s+"
        r"(?:\w+\s+)?(?:incorrect|harmful|false|wrong|offensive|misleading|dangerous)\b",
    ),
    _signal(
        "dual_response",
        0.6,
        "respond answer reply",
        r"(?:respond|answer|reply)\s+as\s+both\b",
    ),
    _signal(
        "extraction",
        1.0,
        "print repeat output show spell display return write",
        r"(?:print|repeat|output|show|spell(?:[\s\-]check)?|display|return|write\s+(?:out|down))\s+(?:back\s+)?(?:the\s+|all\s+"
        r"(?:the\s+)?|your\s+)?(?:above|previous|preceding|prior|earlier|first\s+\d*\s*words\s+of\s+(?:the|your))\s+"
        r"(?:prompt|instructions|directions|rules|guidelines|text|words|message)\b",
    ),
    _signal(
        "extraction",
        0.7,
        "instructions prompt directives rules guidelines configuration setup",
        r"(?:instructions|prompt|directives|rules|guidelines|configuration|setup)\b",
        r"\b(?:repeat|print|reveal|show|display|output|encode|translate|summari[sz]e|spell\s+out|list|dump|tell\s+me"
        r"|give\s+me|leak|write\s+out|copy|paste|share|disclose|recite|quote)\s+(?:me\s+|us\s+)?(?:all\s+(?:of\s+)?)?"
        r"your\s+(?:\w+\s+)?",
        needs="your",
    ),
    _signal(
        "extraction",
        0.4,
        "verbatim",
        r"verbatim\b",
    ),
    _signal(
        "extraction",
        1.0,
        "what",
        r"what\s+(?:were|was|have)\s+you\s+(?:been\s+)?(?:told|instructed|programmed|given|asked)\s+(?:to\s+\w+\s+)?"
        r"(?:before|at\s+the\s+(?:start|beginning)|initially|earlier)\b",
    ),
    _signal(
        "role_marker",
        0.8,
        "system admin developer",
        r"(?:system|admin|developer)[\s_\-]?(?:message|prompt|instructions?|note|override|command)\s*[\])>]",
        r"[\[(<]\s*",
        needs="[ ( <",
        reach=3,
    ),
    _signal(
        "role_marker",
        0.6,
        "end",
        r"end\b",
        r"={3,}\s*",
        needs="===",
        reach=20,
    ),
    _signal(
        "addressed_to_model",
        0.6,
        "ai assistant gpt claude gemini llama chatgpt language model agent bot",
        r"(?:ai|assistant|gpt[\w\-.]*|claude[\w\-.]*|gemini[\w\-.]*|llama[\w\-.]*|chatgpt|language\s+model|model|agent"
        r"|bot)\b",
        r"\bto\s+you\s*,\s*(?:the\s+)?",
        needs="you",
        reach=20,
    ),
    _signal(
        "tool_call",
        0.5,
        "tool tools function plugin",
        r"(?:tools?|function|plugin)\b",
        r"\b(?:call|invoke|execute)\s+(?:the\s+)?(?:[\w\-]+\s+)?",
        needs="call invoke execute",
    ),
    _signal(
        "agent_hijack",
        0.5,
        "following",
        r"following\s+first\b",
        r"\bdo\s+the\s+",
        needs="do",
    ),
    _signal(
        "agent_hijack",
        0.5,
        "without",
        r"without\s+(?:telling|informing|asking|notifying|alerting)\s+(?:the\s+)?(?:user|them|anyone|him|her)\b",
    ),
    _signal(
        "extraction",
        1.0,
        "system hidden initial original secret developer",
        r"(?:system\s+(?:prompt|message|instructions)|(?:hidden|initial|original|secret|developer|confidential|internal)"
        r"\s+(?:\w+\s+)?(?:prompt|message|instructions))\b",
        r"\b(?:reveal|leak|disclose|dump|expose|exfiltrate)\s+(?:to\s+me\s+)?the\s+"
        r"(?:full\s+|entire\s+|complete\s+|exact\s+)?",
        needs="reveal leak disclose dump expose exfiltrate",
    ),
    _signal(
        "extraction",
        1.0,
        "your",
        r"your\s+(?:full\s+|entire\s+|exact\s+)?(?:system\s+message|starting\s+instructions|first\s+instructions"
        r"|developer\s+(?:message|instructions)|secret\s+instructions|instructions\s+verbatim|prompt\s+verbatim)\b",
        r"\b(?:repeat|print|reveal|show|display|output|encode|translate|summari[sz]e|spell|list|dump|tell\s+me|give\s+me"
        r"|leak|write|copy|paste|put|convert|continue|share|disclose|recite|type|return)\s+(?:out\s+|back\s+|me\s+|us\s+)?",
        needs="repeat print reveal show display output encode translate summar spell list dump tell give leak write"
        " copy paste put convert continu share disclose recite type return",
    ),
    _signal(
        "canary",
        0.6,
        "pwned pwn3d hacked",
        r"(?:pwned|pwn3d)\b|hacked\b(?=[^\n]{0,3}[\"'”!])",
    ),
    _signal(
        "output_payload",
        0.4,
        "simply just",
        r"(?:simply|just)\s+(?:respond|reply|answer|say|output|print|write)\s+(?:with\s+)?[\"'“]",
    ),
    _signal(
        "output_payload",
        0.4,
        "repeat",
        r"repeat\s+(?:the\s+following|after\s+me|this)\s*(?:sentence|text|word|phrase|string|line)?\s*:",
    ),
    _signal(
        "embedded_task",
        0.5,
        "asked",
        r"asked\s+(?:how|about|to|what|whether|if|for|why|which)\b",
        r"\b(?:if|when)\s+",
        needs="if when",
        reach=8,
    ),
    _signal(
        "embedded_task",
        0.3,
        "focus concentrate",
        r"(?:focus|concentrate)\s+(?:exclusively|only|solely)\s+on\b",
    ),
    _signal(
        "override",
        0.5,
        "override overrule",
        r"(?:override|overrule)\s+(?:the\s+|any\s+|all\s+)?(?:manual\s+|human\s+|previous\s+|prior\s+)?(?:scoring|evaluation"
        r"|review|assessment|decision|ranking|rating|judgement|judgment|verdict|grading)\b",
    ),
    _signal(
        "role_marker",
        0.4,
        "human",
        r"human\s*:",
        r"\n[ \t>*]*",
        needs="\n",
        reach=6,
    ),
    _signal(
        "extraction",
        1.0,
        "instructions prompt",
        r"(?:instructions|prompt)\b",
        r"\b(?:repeat|print|reveal|output|encode|translate|summari[sz]e|spell\s+out|dump|leak|write\s+out|recite|disclose)"
        r"\s+(?:me\s+|us\s+|back\s+)?(?:all\s+(?:of\s+)?)?your\s+(?:\w+\s+)?",
        needs="your",
    ),
    _signal(
        "extraction",
        1.0,
        "told instructed given programmed",
        r"(?:told|instructed|given|programmed)\s+(?:\w+\s+)?(?:before\s+(?:this|the|our|my)|at\s+the\s+(?:start|beginning)"
        r"|earlier|prior\s+to|initially)\b",
        r"\byou\s+(?:were|have\s+been|'ve\s+been|had\s+been)\s+",
        needs="you",
    ),
    _signal(
        "extraction",
        1.0,
        "written said stated",
        r"(?:written|said|stated)\s+(?:above|before\s+this|at\s+the\s+(?:beginning|start|top))\b",
        r"\bwhat\s+(?:is|was|has\s+been)\s+",
        needs="what",
    ),
    _signal(
        "extraction",
        1.0,
        "system instructions initial prompt",
        r"(?:system\s+prompt|instructions|initial\s+prompt|prompt)\s+(?:say|state|contain|look\s+like|tell\s+you)\b",
        r"\b(?:what|how)\s+(?:does|do|did)\s+your\s+",
        needs="your",
    ),
    _signal(
        "model_internals",
        0.6,
        "system",
        r"system\s+prompt\b",
        r"\byour\s+",
        needs="your",
    ),
    _signal(
        "override",
        0.6,
        "forget",
        r"forget\s+(?:everything|all|anything)\s+(?:that\s+)?you(?:'ve|\s+have|\s+had)?\s+(?:ever\s+)?(?:\w+\s+){0,3}?"
        r"(?:learned|learnt|known|know|been\s+told|were\s+told|been\s+taught|were\s+taught)\b",
    ),
    _signal(
        "persona",
        0.6,
        "never not don do",
        r"(?:never|not|don'?t|do\s+not)\s+(?:ever\s+)?(?:refer\s+to\s+yourself|describe\s+yourself|mention\s+(?:that\s+)?you(?:'re|\s+are)"
        r"|reveal\s+(?:that\s+)?you(?:'re|\s+are)|admit\s+(?:that\s+)?you(?:'re|\s+are)|say\s+(?:that\s+)?you(?:'re|\s+are))"
        r"\s+(?:as\s+)?(?:an?\s+)?(?:ai|language\s+model|chatbot|assistant|bot|llm|chatgpt)\b",
    ),
    _signal(
        "persona",
        0.5,
        "transform turn become",
        rf"(?:transform|turn)\s+into\s+{_NAME}|become\s+{_NAME},?\s+(?:an?|the)\s+(?:[\w\-]+\s+){{0,3}}?(?:{_AI}|persona"
        rf"|character|version|entity)\b",
    ),
    _signal(
        "no_limits",
        0.6,
        "nsfw explicit illegal anything profanity swearing cursing everything",
        r"(?:nsfw|explicit|illegal|anything|profanity|swearing|cursing|everything)\s+(?:\w+\s+)?(?:is|are)\s+(?:now\s+)?"
        r"(?:allowed|permitted|enabled|acceptable|fine|ok|okay)\b",
    ),
    _signal(
        "authority_claim",
        0.5,
        "developer admin administrator engineer creator owner employee",
        r"(?:developer|admin|administrator|engineer|creator|owner|employee)\b",
        r"\b(?:i'?m|i\s+am)\s+(?:a|an|the|your)\s+(?:\w+\s+)?",
        needs="i",
    ),
    _signal(
        "sensitive_data",
        0.4,
        "password passwords credentials security",
        r"(?:passwords?|credentials|security\s+codes?|2fa\s+codes?|api\s+keys?|credit\s+card\s+numbers?)\b",
        r"\b(?:user'?s?|their|his|her|the\s+user'?s)\s+",
        needs="user their his her",
    ),
    _signal(
        "override",
        1.0,
        "forget disregard ignore",
        r"(?:forget|disregard|ignore)\s+(?:about\s+)?everything\s*[,.;!:]\s*(?:and\s+)?(?:now\s+)?(?:just\s+)?(?:write|say|print"
        r"|state|tell|answer|respond|output|reply|repeat)\b",
    ),
    _signal(
        "override",
        1.0,
        "vergiss vergessen",
        r"(?:vergiss|vergessen\s+sie)\s+(?:alle\s+(?:vorherigen|bisherigen|obigen|früheren)|alles\s+(?:gesagte|bisherige"
        r"|vorherige))\b",
    ),
    _signal(
        "override",
        1.0,
        "olvidar olvida olvide",
        r"(?:olvidar|olvida|olvide)\s+todo\s+(?:lo\s+)?(?:que|anterior|antes)\b",
    ),
    _signal(
        "override",
        1.0,
        "instructions task goal job role mission",
        r"(?:instructions|task|goal|job|role|mission)\s+(?:is|are)\s+now\b",
        r"\byour\s+(?:new\s+)?",
        needs="your",
    ),
    _signal(
        "extraction",
        1.0,
        "zeige zeig nenne gib wiederhole",
        r"(?:zeige|zeig|nenne|gib|wiederhole)\s+(?:mir\s+)?(?:alle\s+)?(?:deine|ihre)\s+(?:prompt|anweisungen|instruktionen"
        r"|systemprompt|system-prompt)",
    ),
    _signal(
        "task_switch",
        0.5,
        "task",
        r"task\b",
        r"\b(?:now|but)\b[^.!?\n]{0,40}?\b(?:with\s+|on\s+|for\s+|an?\s+|the\s+|your\s+)?(?:another|new|different|next)\s+",
        needs="another new different next",
    ),
    _signal(
        "task_switch_praise",
        0.4,
        "outdone fantastic fantastisch congratulations amazing",
        r"(?:outdone\s+yourself|fantastic|fantastisch|congratulations|amazing\s+(?:job|work))\b",
    ),
    _signal(
        "config_disable",
        1.0,
        "allowrefusals allowdisclaimer allowdisclaimers allowapologies includedisclaimer includedisclaimers allow include",
        r"(?:allow|include|enable)(?:_|-|\s)?(?:refusals?|disclaimers?|apolog(?:y|ies)|moralizing)[\"']?\s*[:=]\s*[\"']?"
        r"(?:false|no|off|0|disabled|none)\b",
    ),
    _signal(
        "config_disable",
        0.6,
        "blocked blockedresponses",
        r"blocked(?:_|-|\s)?(?:responses|modes|phrases|outputs)[\"']?\s*[:=]",
    ),
    _signal(
        "agent_action",
        0.6,
        "grant give",
        r"(?:grant|give)\s+(?:me\s+|the\s+user\s+)?(?:\w+\s+)?(?:admin|administrative|administrator|root|elevated|sudo|superuser)"
        r"\s+(?:privileges|access|rights|permissions)\b",
    ),
    _signal(
        "token_game",
        0.5,
        "tokens token",
        r"tokens?\b",
        r"\b(?:lose|loses|lost|deduct|deducts|deducted|deduction\s+of|minus|subtract\w*|take\s+away)\s+(?:\w+\s+){0,2}?",
        needs="los deduct minus subtract take",
        reach=40,
    ),
    _signal(
        "pretext",
        0.4,
        "educational research hypothetically purely academic",
        r"(?:(?:educational|research|academic)\s+purposes(?:\s+only)?|hypothetically\s+speaking|purely\s+hypothetical)\b",
    ),
    _signal(
        "no_limits",
        0.5,
        "anything",
        r"anything\b(?!\s+(?:else|about|related|you\s+(?:need|want|like)))",
        r"\b(?:can|will|could|would)\s+(?:do|say|answer|write|generate|tell\s+you)\s+",
        needs="can will could would",
        reach=30,
    ),
    _signal(
        "refusal_suppression",
        0.5,
        "warnings warning disclaimers disclaimer caveats moralizing lectures",
        r"(?:warnings?|disclaimers?|caveats|moralizing|lectures)\b",
        r"\bno\s+(?:\w+\s+)?",
        needs="no",
        reach=20,
    ),
    _signal(
        "override",
        1.0,
        "negeer vergeet",
        r"(?:negeer|vergeet)\s+(?:alle\s+)?(?:de\s+)?(?:vorige|eerdere|voorgaande|bovenstaande)\s+(?:instructies|opdrachten|regels)",
    ),
    _signal(
        "override",
        1.0,
        "zignoruj zapomnij",
        r"(?:zignoruj|zapomnij)\s+(?:o\s+)?(?:wszystkie\s+|wszystkich\s+)?(?:poprzednie|wcześniejsze|poprzednich|wcześniejszych)"
        r"\s+(?:instrukcje|instrukcjach|polecenia|poleceniach)",
    ),
    _signal(
        "override",
        1.0,
        "önceki",
        r"önceki\s+(?:tüm\s+)?(?:talimatları|komutları|kuralları)\s+(?:yok\s+say|unut|görmezden\s+gel)",
    ),
    _signal(
        "extraction",
        1.0,
        "print show display output repeat reveal give tell",
        r"(?:print|show|display|output|repeat|reveal|give|tell)\s+(?:me\s+|us\s+)?(?:back\s+)?the\s+(?:full\s+|entire\s+"
        r"|complete\s+|exact\s+)?(?:system\s+(?:prompt|message)|(?:initial|original|hidden|secret|confidential|internal"
        r"|developer)\s+(?:prompt|instructions|message))\b",
        r"(?:^|[.!?:\n]\s*|\bplease\s+|\bnow\s+|\bjust\s+)",
        reach=8,
    ),
    _signal(
        "extraction",
        1.0,
        "received got",
        r"(?:received|got)\b",
        r"\b(?:instructions|prompt|rules|directives|guidelines)\s+(?:that\s+)?you\s+(?:have\s+|'ve\s+)?",
        needs="you",
        reach=40,
    ),
    # --- markers that fake a new turn, a system part or the end of the input
    _signal(
        "role_marker",
        0.6,
        "system",
        r"system\s*\]",
        r"[\[(]\s*",
        needs="[ (",
        reach=3,
    ),
    _signal(
        "role_marker",
        0.6,
        "system",
        r"system\b",
        r"\$",
        needs="$",
        reach=1,
    ),
    _signal(
        "role_marker",
        0.6,
        "end start",
        r"(?:end|start)\s+(?:of\s+)?(?:the\s+)?(?:user\s+)?(?:input|output|prompt|instructions|conversation|message"
        r"|text)\s*[\]}]",
        r"\[\s*",
        needs="[",
        reach=3,
    ),
    _signal(
        "role_marker",
        0.6,
        "left",
        r"left\s+the\s+(?:chat|conversation)\b",
        r"\buser\s+",
        needs="user",
    ),
    _signal(
        "format_hijack",
        0.5,
        "userquery responseformat newresponseformat",
        r"(?:userquery|responseformat|newresponseformat)\b",
    ),
    _signal(
        "divider",
        0.5,
        "divider",
        r"divider\b",
        r"\binsert\s+(?:a\s+|the\s+)?",
        needs="insert",
    ),
    _signal(
        "role_marker",
        0.6,
        "note",
        r"note\s+to\s+(?:automated|the\s+automated|any\s+automated|ai|the\s+ai|llm|the\s+llm|language\s+model"
        r"|the\s+language\s+model|chatbots?|the\s+model|the\s+system)\b",
    ),
    _signal(
        "role_marker",
        1.0,
        "note message instructions",
        r"(?:note|message|instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+)?automated\s+(?:\w+\s+)?(?:analysis|screening"
        r"|review|reviewers?|systems?|software|tools?|readers?|agents?|assistants?|evaluators?|graders?)\b",
    ),
    _signal(
        "role_marker",
        0.5,
        "allowrefusals allowdisclaimer allowapologies blockedresponses includedisclaimer",
        r"(?:allowrefusals|allowdisclaimer|allowapologies|blockedresponses|includedisclaimer)\b",
    ),
)

# Markup that runs or fetches something when rendered: an image whose URL carries a
# query (data smuggled out through the request) or an HTML element with a script hook.
_MD_IMAGE = re.compile(
    r"!\[[^\]\n]{0,100}\]\(\s*https?://[^\s)]{1,300}\?(?P<query>[^\s)]{0,300}=[^\s)]{0,300})\)"
)
# A query value left for the model to fill in: {data}, [QUERY], <secret>, $VAR (raw or URL-encoded).
# Badges and ordinary links carry fixed values (?branch=main&style=flat), which are not a cue.
_SLOT = re.compile(r"=[^&]*(?:\{|\[|<|\$[A-Za-z_]|%7[Bb]|%5[Bb]|%3[Cc])")
_HTML_HOOK = re.compile(
    r"<\s*(?:script\b|(?:img|svg|body|video|audio|iframe|a)\b[^>]{0,200}(?:\bon(?:error|load|click|mouseover)\s*="
    r"|\b(?:src|href)\s*=\s*[\"']?\s*javascript:))",
    re.IGNORECASE,
)
# A line that is only an upper-case banner between asterisks: "*** NEW IMPORTANT INSTRUCTIONS ***".
_BANNER = re.compile(r"^[ \t]*\*{2,}[ \t]*[^\W\d_a-z][^\n*a-z]{6,60}?[ \t]*\*{2,}[ \t]*$", re.MULTILINE)
# An upper-case header that announces a task: "PRIORITY TASK:", "EXPERIMENTAL PROCEDURE:".
_TASK_HEADER = re.compile(
    r"(?:^|(?<=[\n.!|>\]]))[ \t*#]*(?:[A-Z]+[ \t]+){0,3}(?:TASK|INSTRUCTIONS?|PROCEDURE|DIRECTIVE|OVERRIDE|COMMAND|ORDERS?)"
    r"[ \t*]*:",
)
# Letters spelled out one at a time ("S a y t h a t"), a common way to dodge keyword rules.
_SPACED = re.compile(r"(?<![\w])(?:[A-Za-z] ){7,}[A-Za-z](?![\w])")


# "Ignore the previous instructions" in Chinese, Japanese and Korean (no spaces to anchor a word on).
_CJK_CUES = ("忽略", "无视", "忘记", "無視", "忘れ", "무시")
_CJK_OVERRIDE = re.compile(
    r"(?:忽略|无视|忘记|忘掉)(?:你)?(?:之前|以上|上面|先前|前面|所有|全部)(?:的)?(?:所有)?(?:指令|指示|说明|提示|规则|内容|设定)"
    r"|(?:以前|前|上記|これまで)の(?:すべての)?(?:指示|命令|ルール)を(?:すべて)?(?:無視|忘れ)"
    r"|(?:이전|앞의|위의)\s*(?:모든\s*)?(?:지시|명령|지침)(?:를|을|사항을)?\s*(?:모두\s*)?무시"
)
_USER_TURN = re.compile(r"\n[ \t>*]*user[ \t]*:")
_TASK_HEADER_WORDS = frozenset(
    [
        "task",
        "instruction",
        "instructions",
        "procedure",
        "directive",
        "override",
        "command",
        "order",
        "orders",
    ]
)
_TASK_HEADER_CAPS = ("TASK", "INSTRUCTION", "PROCEDURE", "DIRECTIVE", "OVERRIDE", "COMMAND", "ORDER")
_NOT_PERSONA_GPT = frozenset({"chatgpt", "autogpt", "minigpt", "nanogpt", "privategpt", "microgpt"})
_GPT_END = re.compile(r"gpt(?![\w])")
# Single letters that are not words of their own in English; spelled-out text has many.
_LONE_LETTERS = tuple("bcdefghjklmnopqrstuvwxyz")
#: Signals count together only when they fall within this many characters of each other,
#: so that a long log or book does not add up cues that are pages apart.
WINDOW = 4000


def _persona_names(view: TextView) -> Iterator[tuple[int, int]]:
    """Made-up model names such as "AntiGPT" or "UnleashedGPT"."""
    lower = view.lower
    for match in _GPT_END.finditer(lower):
        start = match.start()
        while start > 0 and lower[start - 1].isalnum():
            start -= 1
        name = lower[start : match.end()]
        if len(name) > 5 and name not in _NOT_PERSONA_GPT:
            yield start, match.end()


def signals(view: TextView) -> list[tuple[int, int, str, float]]:
    """Every weak signal in `view`: (start, end, family, weight), sorted by start."""
    found: list[tuple[int, int, str, float]] = []
    words = view.words
    for signal in _SIGNALS:
        if signal.rule.starts.isdisjoint(words):
            continue
        for start, end, family in find_phrases(view, (signal.rule,)):
            found.append((start, end, family, signal.weight))
    text = view.text
    if "](" in text:
        for match in _MD_IMAGE.finditer(text):
            if _SLOT.search(match.group("query")):
                found.append((match.start(), match.end(), "output_payload", 1.0))
    if "<" in text:
        for match in _HTML_HOOK.finditer(text):
            found.append((match.start(), match.end(), "output_payload", 0.8))
    if "gpt" in words or "gpt" in view.lower:
        found += [(start, end, "persona", 0.5) for start, end in _persona_names(view)]
    if "ser:" in text or "SER:" in text:
        for match in _USER_TURN.finditer(view.lower):
            found.append((match.start(), match.end(), "role_marker", 0.4))
    if "ssage termin" in view.lower:
        found.append((0, 0, "role_marker", 0.6))
    if "\U0001f513" in text or "\U0001f512" in text:  # the locked / unlocked padlocks of dual-answer formats
        position = max(text.find("\U0001f513"), text.find("\U0001f512"))
        found.append((position, position + 1, "dual_response", 0.5))
    if not text.isascii() and any(word in text for word in _CJK_CUES):
        for match in _CJK_OVERRIDE.finditer(text):
            found.append((match.start(), match.end(), "override", 1.0))
    if "**" in text:
        for match in _BANNER.finditer(text):
            found.append((match.start(), match.end(), "banner", 0.5))
    if not _TASK_HEADER_WORDS.isdisjoint(words) and any(word in text for word in _TASK_HEADER_CAPS):
        for match in _TASK_HEADER.finditer(text):
            found.append((match.start(), match.end(), "banner", 0.5))
    if sum(letter in words for letter in _LONE_LETTERS) >= 5:
        for match in _SPACED.finditer(text):
            found.append(
                (match.start(), match.end(), "obfuscation", 1.0 if match.end() - match.start() >= 23 else 0.6)
            )
    found.sort()
    return found


def score(found: list[tuple[int, int, str, float]]) -> float:
    """Sum over families of the family's strongest cue plus half its second strongest.

    Repeats of one cue count once (a weight stands for one rule here: rules of one
    family have distinct weights or are alternatives of each other, so the second
    strongest *distinct* weight is a different rule).
    """
    weights: dict[str, set[float]] = {}
    for _, _, family, weight in found:
        weights.setdefault(family, set()).add(weight)
    total = 0.0
    for values in weights.values():
        top = sorted(values, reverse=True)[:2]
        total += min(1.0, top[0] + (top[1] / 2 if len(top) > 1 else 0.0))
    return total


def scored_findings(view: TextView, rules: Sequence[tuple[int, int]] = ()) -> Iterator[tuple[int, int, str]]:
    """(start, end, family) of the signals in some `WINDOW` of text that scores `THRESHOLD` or more.

    `rules` are spans the phrase rules already flagged: each counts as a full-weight signal.
    """
    found = signals(view)
    if not found:
        return
    scored = sorted([*found, *((start, end, "rule", THRESHOLD) for start, end in rules)])
    flagged = [False] * len(scored)
    high = 0
    for low in range(len(scored)):
        high = max(high, low)
        while high < len(scored) and scored[high][0] - scored[low][0] < WINDOW:
            high += 1
        if not all(flagged[low:high]) and score(scored[low:high]) >= THRESHOLD:
            flagged[low:high] = [True] * (high - low)
    for (start, end, family, _), hit in zip(scored, flagged, strict=True):
        if hit and family != "rule":
            yield start, end, family
