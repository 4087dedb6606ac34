"""A question's wording as the report tallies it: one key per wording, whoever computes it.

The processor keys each day's per-question tally by it and the reporter groups those tallies, so the
folding lives here, shared by both.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_NOT_WORD = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")
# A wording key becomes part of a DynamoDB sort key (at most 1,024 bytes); longer wordings keep this many
# bytes and a hash of the rest, so two long questions that start alike are still two wordings.
KEY_BYTES = 400
# A spelling is kept for display (one line of 140 characters) and for grouping by meaning.
SPELLING_CHARACTERS = 200


def normalise(question: str) -> str:
    """The grouping key of a question: case-folded, punctuation dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", question).casefold()
    text = _NOT_WORD.sub("", text)
    return _SPACE.sub(" ", text).strip()


def wording_key(question: str) -> str:
    """`normalise(question)`, with a long key cut to KEY_BYTES on a character boundary plus a hash."""
    key = normalise(question)
    encoded = key.encode("utf-8")
    if len(encoded) <= KEY_BYTES:
        return key
    digest = hashlib.blake2b(encoded, digest_size=8).hexdigest()
    return f"{encoded[:KEY_BYTES].decode('utf-8', errors='ignore')}…{digest}"


def spelling(question: str) -> str:
    """The text kept of one spelling of a wording."""
    return question[:SPELLING_CHARACTERS]
