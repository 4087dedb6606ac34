"""Small statistics the report needs, without pulling numpy into the Lambda zip."""

from __future__ import annotations

from collections.abc import Sequence


def percentile(ordered: Sequence[float], pct: float) -> float:
    """The `pct` percentile of ascending `ordered`, interpolated linearly between ranks.

    Same definition as numpy's default (`method="linear"`), so figures can be checked against it.
    """
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile {pct} is outside 0 to 100")
    rank = (len(ordered) - 1) * pct / 100
    lower = int(rank)
    upper = min(lower + 1, len(ordered) - 1)
    fraction = rank - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * fraction


def histogram_percentile(ordered: Sequence[tuple[float, int]], pct: float) -> float:
    """`percentile` of the values a histogram stands for ((value, count) pairs, ascending values), without
    expanding it: the same ranks, the same interpolation."""
    total = sum(count for _, count in ordered)
    if total == 0:
        raise ValueError("percentile of no values")
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile {pct} is outside 0 to 100")
    rank = (total - 1) * pct / 100
    lower = int(rank)
    upper = min(lower + 1, total - 1)

    def value_at(position: int) -> float:
        seen = 0
        for value, count in ordered:
            seen += count
            if position < seen:
                return value
        return ordered[-1][0]

    low, high = value_at(lower), value_at(upper)
    return low + (high - low) * (rank - lower)


def change(current: float, previous: float) -> float | None:
    """Relative change from `previous` to `current` (0.25 is +25 %); None when there is no base."""
    if previous == 0:
        return None
    return (current - previous) / previous
