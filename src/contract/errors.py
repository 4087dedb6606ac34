"""The one error the contract raises, so callers can quarantine bad input without guessing its cause."""

from __future__ import annotations


class ContractError(ValueError):
    """An event that is not valid JSON or breaks the event contract.

    `path` is a JSON path into the event (`$` for the whole body, `$.metadata.sourcesUsed[0]` for one item)
    and `reason` says what is wrong there; both go into the quarantine record so the owner can fix the sender.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
