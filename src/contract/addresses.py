"""E-mail addresses as SES will take them, checked where they are configured rather than on Monday.

The stdlib's RFC 5322 parser (`email.headerregistry.Address`) reads the address, which refuses CR and LF
(a header injection), a local part that is not an atom or a quoted string, and non-ASCII local parts
(SES takes ASCII addresses only); on top of it the domain must be a host name with a dot, as SES requires.
"""

from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.headerregistry import Address

# One label of a host name: letters, digits and hyphens, not starting or ending with a hyphen.
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def is_domain(text: str) -> bool:
    """A fully qualified host name such as example.com (a top-level domain of letters, at least two)."""
    labels = text.split(".")
    return (
        len(text) <= 253
        and len(labels) >= 2
        and all(_LABEL.match(label) for label in labels)
        and labels[-1].isalpha()
        and len(labels[-1]) >= 2
    )


def address_problem(text: str) -> str | None:
    """Why `text` is not one e-mail address (`name@example.com`), or None when it is one."""
    if "\r" in text or "\n" in text:
        return "holds a line break (CR or LF)"
    try:
        address = Address(addr_spec=text)
    except (HeaderParseError, ValueError, IndexError) as error:
        return f"is not an e-mail address ({str(error).strip().rstrip(')')})"
    if not address.username or not is_domain(address.domain):
        return "is not an e-mail address (name@example.com)"
    if address.addr_spec != text:
        return f"is not written as a plain address (did you mean {address.addr_spec}?)"
    return None
