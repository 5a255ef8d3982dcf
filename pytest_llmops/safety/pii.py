"""Personal data detectors: email, phone, credit card, IBAN, US SSN, IP address.

Each detector finds candidates with a cheap pattern, then keeps only those a
validator (Luhn, mod-97, SSA rules, octet ranges) or the surrounding words confirm:

- phone: E.164 and international numbers (``+`` or ``00``), NANP ``(415) 555-2671`` /
  ``415-555-2671``, and national numbers with a trunk ``0`` (``020 7946 0958``,
  ``06 12 34 56 78``). A bare 10-11 digit run only counts after a phone word ("call",
  "tel", "mobile"...). Any number whose nearest preceding cue is an identifier word
  ("order", "invoice", "ticket", "zip", ``#``...) is not a phone.
- us_ssn: ``AAA-GG-SSSS`` obeying SSA rules; without dashes (or with spaces) only
  after "SSN" / "social security".
- ip_address: IPv4 with octets 0-255 and no leading zeros, not part of a longer dotted
  number; skipped when it reads as a version: right after ``v``, after "version",
  "release", "build", "firmware", "section"..., or after a product token
  (``Chrome/120.0.0.0``). IPv6 in full or compressed form, validated by `ipaddress`.
- email: practical addresses with a dotted domain and an alphabetic TLD (Unicode
  allowed); not file names (``logo@2x.png``), ``package@1.2.3``, git remotes
  (``git@github.com:org/repo``) or URL credentials (``https://user@host``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from pytest_llmops.safety.finding import Finding
from pytest_llmops.safety.text_view import TextView
from pytest_llmops.safety.validators import (
    IBAN_LENGTHS,
    card_brand,
    iban_valid,
    luhn_valid,
    ssn_valid,
)

_CUE_WINDOW = 36


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PHONE_WORDS = (
    r"phone|phones|tel|tél|telephone|téléphone|telefon|telefono|teléfono|mobile|mobil|mob|cell|cellphone"
    r"|fax|call|calling|text|sms|whatsapp|signal|contact|reach|dial|ring|hotline|helpline|switchboard"
    r"|landline|portable|handy|número|numero|móvil|direct line"
)
_ID_WORDS = (
    r"order|orders|invoice|inv|ticket|case|ref|reference|tracking|serial|sn|s/n|sku|part|item|id|ids"
    r"|account|acct|po|batch|lot|model|isbn|issn|ean|upc|version|ver|build|release|zip|postal|postcode"
    r"|routing|sort code|transaction|txn|iban|bic|swift|card|amount|total|price|qty|quantity|pin|otp"
    r"|code|confirmation|booking|reservation|shipment|parcel|package|receipt|customer no|member no"
    r"|policy|claim|patent|docket|epoch|timestamp|ssn|social security"
)
# Letters, not \b, delimit cue words, so "order_id" and "customer_phone" count too.
_CUES = re.compile(
    rf"(?P<pos>(?<![a-z])(?:{_PHONE_WORDS})(?![a-z])|[☎📞])|(?P<neg>(?<![a-z])(?:{_ID_WORDS})(?![a-z])|#\s?$)"
)


def _phone_cue(view: TextView, start: int) -> str | None:
    """'pos' or 'neg' for the cue word nearest before `start` on the same line, else None."""
    window = view.lower[max(0, start - _CUE_WINDOW) : start]
    window = window[window.rfind("\n") + 1 :]
    last = None
    for match in _CUES.finditer(window):
        last = "pos" if match.group("pos") else "neg"
    return last


# --- email -----------------------------------------------------------------------------

# Word characters except CJK, kana, Hangul and full-width forms: Japanese or Chinese text
# often runs straight into an address ("メールはa@b.jpです") with no space between.
_NOT_CJK = "\u3000-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
_W = rf"[^\W{_NOT_CJK}]"  # a word character that is not CJK
_L = rf"[^\W\d_{_NOT_CJK}]"  # a letter that is not CJK
_EMAIL_LOCAL = re.compile(rf"(?:{_W}|[.%+'\-]){{1,64}}\Z")
_EMAIL_DOMAIN = re.compile(
    rf"(?:(?!_){_W}(?:(?:{_W}|-){{0,61}}(?<!_)(?<!-))?\.)+({_L}{{2,24}})(?!{_W}|-|\.{_L})"
)
_FILE_EXTENSIONS = _words(
    "png jpg jpeg gif svg webp bmp ico tif tiff heic avif mp3 mp4 mov avi css js mjs ts tsx jsx json yaml yml"
    " toml lock txt html htm xml pdf csv gz zip tar whl"
)
_URL_USER = re.compile(r"://[^\s/@]*\Z")


def find_emails(view: TextView) -> Iterator[Finding]:
    text = view.text
    at = text.find("@")
    while at != -1:
        found = _email_at(text, at)
        if found is not None:
            yield found
        at = text.find("@", at + 1)


def _email_at(text: str, at: int) -> Finding | None:
    domain = _EMAIL_DOMAIN.match(text, at + 1)
    if domain is None:
        return None
    local = _EMAIL_LOCAL.search(text, max(0, at - 64), at)
    if local is None:
        return None
    start = local.start()
    while start < at and text[start] in ".'-":
        start += 1
    local_part = text[start:at]
    if not local_part or ".." in local_part or local_part.endswith("."):
        return None
    end = domain.end()
    if domain.group(1).lower() in _FILE_EXTENSIONS:
        return None
    before = text[max(0, start - 80) : start]
    if before.endswith("@") or _URL_USER.search(before):
        return None  # user@user@host, or the user part of a URL
    if (
        text.startswith(":", end)
        and end + 1 < len(text)
        and (text[end + 1].isalnum() or text[end + 1] in "~/")
    ):
        return None  # git@github.com:org/repo.git
    return Finding("email", start, end, text[start:end])


# --- phone -----------------------------------------------------------------------------

_PHONE = re.compile(
    r"""
    (?<![\w+#$€£¥/.,\-])
    (?:
        (?P<e164>\+[1-9][0-9]{7,14}(?![0-9]))
      | (?P<intl>(?:\+|00)[1-9]\d{0,2}(?:[ .\-]?\(0\))?(?:[ .\-]?(?:\(\d{1,5}\)|\d{1,5})){1,7})
      | (?P<nanp>(?:1[ .\-]?)?(?:\([2-9]\d\d\)(?P<s0>[ .\-]?)|[2-9]\d\d(?P<s1>[ .\-]))
                 [2-9]\d\d(?P<s2>[ .\-])\d{4})
      | (?P<fr>0[1-9](?P<fs>[ .\-])\d\d(?:(?P=fs)\d\d){3})
      | (?P<nat>(?:\(0[1-9]\d{0,4}\)\ ?|0[1-9]\d{0,4}(?:[ \-]|\ ?/\ ?))\d{2,8}(?:[ \-]\d{2,6}){0,2})
      | (?P<bare>\d{10,11})
    )
    (?![\w%]|[.\-/,]\d)
    """,
    re.VERBOSE,
)
_AFTER_DIGIT_GROUP = re.compile(r"\d[ \-]\Z")
_ZIP_PLUS_FOUR = re.compile(r"\d{5}-\d{4}\Z")
_SSN_SHAPE = re.compile(r"\d{3}-\d{2}-\d{4}\Z")  # AAA-GG-SSSS is no country's phone grouping


def find_phones(view: TextView) -> Iterator[Finding]:
    text = view.text
    size = len(text)
    for run_start, run_end in view.number_runs:
        for match in _PHONE.finditer(text, max(0, run_start - 3), min(size, run_end + 2)):
            detail = _phone_detail(view, match)
            if detail:
                yield Finding("phone", match.start(), match.end(), match.group(), detail)


def _phone_detail(view: TextView, match: re.Match[str]) -> str | None:
    kind = match.lastgroup  # the outer alternative: it closes last
    value = match.group()
    digits = sum(char.isdigit() for char in value)
    cue = _phone_cue(view, match.start())
    if value[0].isdigit() and _AFTER_DIGIT_GROUP.search(view.text, max(0, match.start() - 2), match.start()):
        return None  # the tail of a longer digit sequence (a card, an IBAN)
    if kind == "bare":
        return "national" if cue == "pos" else None
    if cue == "neg":
        return None
    if kind == "e164":
        return "international"
    if kind == "intl":
        trunk = 1 if "(0)" in value else 0
        return "international" if 8 <= digits - trunk <= 15 else None
    if kind == "nanp":
        separators = {match.group("s0"), match.group("s1"), match.group("s2")} - {None, ""}
        return None if "." in separators and separators != {"."} else "nanp"
    if kind == "fr":
        return "national"
    if 9 <= digits <= 12 and not _ZIP_PLUS_FOUR.match(value) and not _SSN_SHAPE.match(value):
        return "national"
    return None


# --- credit card -----------------------------------------------------------------------

_CARD_RUN = re.compile(r"(?<![\w.\-])\d{1,19}(?:[ \-]\d{1,6})*(?![\w]|[.\-]\d)")
_CARD_LAYOUTS = (
    (4, 4, 4, 4),
    (4, 4, 4, 4, 3),
    (4, 6, 5),
    (4, 6, 4),
    (4, 4, 5),
    (4, 4, 4, 3),
    (4, 4, 4, 4, 2),
)
_SEPARATOR = re.compile(r"[ \-]")
_NOT_DIGITS = str.maketrans("", "", " -.()/")


def find_credit_cards(view: TextView) -> Iterator[Finding]:
    text = view.text
    size = len(text)
    for run_start, run_end in view.number_runs:
        if run_end - run_start < 13 or len(text[run_start:run_end].translate(_NOT_DIGITS)) < 13:
            continue
        country = text[max(0, run_start - 2) : run_start]
        if len(country) == 2 and country.isupper() and country.isalpha():
            continue  # the digits of an IBAN ("GR60 8383 3014 ..."), whose groups can pass Luhn by chance
        for match in _CARD_RUN.finditer(text, max(0, run_start - 1), min(size, run_end + 2)):
            yield from _cards_in(match.group(), match.start())


def _cards_in(value: str, offset: int) -> Iterator[Finding]:
    groups = _SEPARATOR.split(value)
    if len(groups) == 1:
        if 13 <= len(value) <= 19 and luhn_valid(value) and (brand := card_brand(value)):
            yield Finding("credit_card", offset, offset + len(value), value, brand)
        return
    positions = [0]
    for group in groups[:-1]:
        positions.append(positions[-1] + len(group) + 1)
    lengths = tuple(len(group) for group in groups)
    index = 0
    while index < len(groups):
        for layout in _CARD_LAYOUTS:
            stop = index + len(layout)
            if lengths[index:stop] != layout:
                continue
            start, end = positions[index], positions[stop - 1] + lengths[stop - 1]
            piece = value[start:end]
            if len({value[p - 1] for p in positions[index + 1 : stop]}) != 1:
                continue  # one separator style per number
            digits = "".join(groups[index:stop])
            if luhn_valid(digits) and (brand := card_brand(digits)):
                yield Finding("credit_card", offset + start, offset + end, piece, brand)
                index = stop - 1
                break
        index += 1


# --- US SSN ----------------------------------------------------------------------------

_SSN = re.compile(r"(?<![\w.\-])(\d{3})([\- ]?)(\d{2})\2(\d{4})(?![\w]|[.\-]\d)")
_SSN_CUE = re.compile(r"\b(?:ssns?|social[\s\-]+security|soc\.?\s*sec\.?|ss\s?#|ss\s?no\.?|ssa)")


def find_us_ssns(view: TextView) -> Iterator[Finding]:
    text = view.text
    size = len(text)
    for run_start, run_end in view.number_runs:
        for match in _SSN.finditer(text, max(0, run_start - 1), min(size, run_end + 2)):
            area, separator, group, serial = match.groups()
            if not ssn_valid(area, group, serial):
                continue
            window = view.lower[max(0, match.start() - 40) : match.start()]
            if separator != "-" and not _SSN_CUE.search(window):
                continue
            yield Finding("us_ssn", match.start(), match.end(), match.group())


# --- IBAN ------------------------------------------------------------------------------


def find_ibans(view: TextView) -> Iterator[Finding]:
    text = view.text
    for word in view.shapes.iban_like:
        length = IBAN_LENGTHS.get(word[:2].upper())
        if length is None or len(word) not in (4, length):  # "DE89 3704 ..." or the whole IBAN in one word
            continue
        for position in view.word_positions(word):
            if text[position : position + 2].isupper():
                found = _iban_at(text, position, length)
                if found is not None:
                    yield found


def _iban_at(text: str, start: int, length: int) -> Finding | None:
    """Collect `length` alphanumerics from `start`, spaces allowed between groups of four."""
    chars: list[str] = []
    position = start
    grouped = text.startswith(" ", start + 4)
    size = len(text)
    while len(chars) < length and position < size:
        char = text[position]
        if char.isascii() and (char.isdigit() or char.isupper()):
            chars.append(char)
            position += 1
        elif char == " " and grouped and len(chars) % 4 == 0 and len(chars) < length:
            position += 1
        else:
            break
    if len(chars) != length:
        return None
    if position < size and text[position].isalnum():
        return None
    compact = "".join(chars)
    if not iban_valid(compact):
        return None
    return Finding("iban", start, position, text[start:position], compact[:2])


# --- IP addresses ----------------------------------------------------------------------

_IPV4_HINT = re.compile(r"\.\d{1,3}\.\d{1,3}\.")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # 0-255, no leading zeros
_IPV4 = re.compile(rf"(?<![\w.\-]){_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(?![\w\-]|\.\d)")
_VERSION_WORDS = _words(
    "version versions ver release build firmware fw rev revision section chapter clause step figure fig table"
    " paragraph kernel sdk oid §"
)
_LINKING_WORDS = _words("is was of to")
_KEY_VALUE_MARKS = str.maketrans(":=#", "   ")
_PRODUCT_TOKEN = re.compile(r"[a-z][\w.\-]*/\Z")
_IPV6_HINT = re.compile(r"::|:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:")
_IPV6_CHARS = frozenset("0123456789abcdefABCDEF:.")


def find_ip_addresses(view: TextView) -> Iterator[Finding]:
    yield from _ipv4(view)
    yield from _ipv6(view)


def _ipv4(view: TextView) -> Iterator[Finding]:
    text = view.text
    last_end = -1
    for hint in _IPV4_HINT.finditer(text):
        match = _IPV4.search(text, max(0, hint.start() - 3), hint.end() + 6)
        if match is None or match.start() < last_end or match.start() > hint.start():
            continue
        last_end = match.end()
        if _reads_as_version(view.lower[max(0, match.start() - 24) : match.start()]):
            continue
        yield Finding("ip_address", match.start(), match.end(), match.group(), "ipv4")


def _reads_as_version(before: str) -> bool:
    """Whether the (lower-cased) text before a dotted quad makes it a version or a section number."""
    before = before[before.rfind("\n") + 1 :]
    if not before:
        return False
    if before[-1] == "v":  # v1.2.3.4, but not "dev" or "rev"
        return len(before) == 1 or not before[-2].isalnum()
    if before[-1] == "/":  # Chrome/120.0.0.0, but not http://10.0.0.1
        return not before.endswith("//") and _PRODUCT_TOKEN.search(before) is not None
    if before.rstrip(" ").endswith(("==", "~=", ">=", "<=", "!=", "^")):
        return True
    words = before.translate(_KEY_VALUE_MARKS).split()
    if words and words[-1] in _LINKING_WORDS:  # "version is 4.0.0.1"
        words.pop()
    return bool(words) and words[-1].rstrip(".") in _VERSION_WORDS


def _ipv6(view: TextView) -> Iterator[Finding]:
    text = view.text
    size = len(text)
    last_end = -1
    for hint in _IPV6_HINT.finditer(text):
        if hint.start() < last_end:
            continue
        start = hint.start()
        while start > 0 and text[start - 1] in _IPV6_CHARS:
            start -= 1
        end = hint.end()
        while end < size and text[end] in _IPV6_CHARS:
            end += 1
        last_end = end
        while end > start and text[end - 1] == ".":
            end -= 1
        candidate = text[start:end]
        if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_"):
            continue
        if end < size and (text[end].isalnum() or text[end] == "_"):
            continue
        if candidate.count(":") < 2 or not any(c not in ":." for c in candidate):
            continue
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        yield Finding("ip_address", start, end, candidate, "ipv6")
