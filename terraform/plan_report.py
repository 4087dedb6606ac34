"""The plan review as a person reads it: Rich on the terminal, Markdown in a pull request.

Both say the same things in the same order: data loss first, then wider IAM, then the destroy-and-create
pairs that are probably a renamed construct (with the `moved` block that keeps the resource), then per stack
what is replaced (and which attribute forces it), destroyed, created and updated in place, with each
attribute's before -> after.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from terraform.plan_cost import CostChange, Pricing, basis, default_pricing, total_gbp
from terraform.plan_review import (
    CREATE,
    DESTROY,
    MOVE,
    NEEDS_ATTENTION,
    REPLACE,
    UPDATE,
    ResourceChange,
    StackReview,
    SuggestedMove,
    exit_code,
)

# The order a reviewer reads: what cannot be undone first.
ORDER = (REPLACE, DESTROY, CREATE, UPDATE, MOVE)
HEADINGS = {
    REPLACE: "replaced", DESTROY: "destroyed", CREATE: "created", UPDATE: "updated in place", MOVE: "moved",
}  # fmt: skip
STYLES = {REPLACE: "bold magenta", DESTROY: "bold red", CREATE: "green", UPDATE: "yellow", MOVE: "cyan"}


def summary(reviews: Sequence[StackReview]) -> str:
    counts = {action: sum(len(r.of(action)) for r in reviews) for action in ORDER}
    changed = [r.stack for r in reviews if r.changed]
    if not changed:
        return f"No changes in {len(reviews)} stacks."
    loss = sum(len(r.data_loss) for r in reviews)
    wider = sum(len(r.widened) for r in reviews)
    parts = ", ".join(f"{counts[a]} {HEADINGS[a]}" for a in ORDER)
    return (
        f"{len(changed)} of {len(reviews)} stacks change ({', '.join(changed)}): {parts}; "
        f"{loss} with data loss, {wider} with wider IAM."
    )


def _why_replaced(resource: ResourceChange) -> str:
    if resource.replace_paths:
        return f"the provider replaces it because {', '.join(resource.replace_paths)} changed"
    return "the provider replaces it"


def _recomputed(change: ResourceChange) -> str:
    how = "recomputed by the provider" if change.action == REPLACE else "known only after apply"
    return f"{how}: {', '.join(change.recomputed)}"


def _loss_line(stack: str, resource: ResourceChange) -> str:
    how = "destroyed" if resource.action == DESTROY else f"replaced: {_why_replaced(resource)}"
    return f"{stack}: {resource.address} is {how}; its data is lost"


def _unless_moved(review: StackReview, resource: ResourceChange) -> str:
    move = review.move_of(resource.address)
    return f" unless the move to {move.target} is declared (below)" if move else ""


def _move_line(move: SuggestedMove, quote: Callable[[str], str] = str) -> str:
    return (
        f"{quote(move.source)} is destroyed and {quote(move.target)} created with the same configuration "
        f"({move.equal} of {move.compared} configured values equal): if a construct was renamed, declare "
        f"the move and the resource is kept, with {quote(move.cdktn_call)} on the renamed construct's "
        "resource in the stack code, or in Terraform:"
    )


def pounds(amount: Decimal) -> str:
    """A monthly change as a reviewer reads it: signed, in pence, and to two significant digits under a
    penny (a log group's retention can be a thousandth of a penny; "+£0.00" would hide that it costs)."""
    sign = "+" if amount >= 0 else "-"
    value = abs(amount)
    if value >= 1 or value == 0:
        return f"{sign}£{value:,.2f}"
    decimals = max(2, 1 - value.adjusted())
    text = f"{value:.{decimals}f}"
    return f"{sign}£{text.rstrip('0') if decimals > 2 else text}"


def _cost_line(change: CostChange, quote: Callable[[str], str] = str) -> str:
    if change.monthly_gbp is None:
        return f"{quote(change.address)} ({change.what}): unpriced, {change.why}"
    return f"{quote(change.address)} ({change.what}): {pounds(change.monthly_gbp)} a month"


def cost_summary(reviews: Sequence[StackReview], pricing: Pricing | None = None) -> str | None:
    """The monthly cost change in one line, with what it assumes; None when nothing priced changes."""
    changes = [c for r in reviews for c in r.costs]
    if not changes:
        return None
    unpriced = sum(1 for c in changes if c.monthly_gbp is None)
    tail = f"; {unpriced} change{'s' if unpriced != 1 else ''} unpriced" if unpriced else ""
    return f"Monthly cost change: {pounds(total_gbp(changes))}{tail}, {basis(pricing or default_pricing())}."


# --- Markdown ----------------------------------------------------------------------------------------------


def _code(text: str) -> str:
    quoted = text.replace("`", "'")
    return f"`{quoted}`"


def _markdown_resource(change: ResourceChange) -> list[str]:
    lines = [f"- **{HEADINGS[change.action]}** {_code(change.address)}"]
    if change.action == REPLACE:
        lines.append(f"  - {_why_replaced(change)}")
    if change.moved_from:
        lines.append(f"  - moved from {_code(change.moved_from)}")
    lines += [f"  - {_code(str(attribute))}" for attribute in change.attributes]
    if change.recomputed:
        lines.append(f"  - {_recomputed(change)}")
    lines += [f"  - {_code('+ ' + grant)}" for grant in change.iam_gained]
    lines += [f"  - {_code('- ' + grant)}" for grant in change.iam_dropped]
    return lines


def _section(heading: str, items: list[str]) -> list[str]:
    return [f"## {heading}", "", *items, ""] if items else []


def _how_lost(change: ResourceChange) -> str:
    return "destroyed" if change.action == DESTROY else f"replaced ({_why_replaced(change)})"


def _findings(reviews: Sequence[StackReview]) -> list[str]:
    """Data loss, wider IAM, probable moves and the cost: what a reviewer reads before the details."""
    loss = [f"- **{r.stack}: {_code(c.address)} is {_how_lost(c)}; its data is lost{_unless_moved(r, c)}**"
            for r in reviews for c in r.data_loss]  # fmt: skip
    wider = []
    for review in reviews:
        for change in review.widened:
            wider.append(f"- **{review.stack}**: {_code(change.address)}")
            wider += [f"  - {_code('+ ' + grant)}" for grant in change.iam_gained]
    moves = []
    for review in reviews:
        for move in review.moves:
            block = [f"  {line}" for line in move.terraform_block.splitlines()]
            moves += [f"- **{review.stack}**: {_move_line(move, _code)}", "", "  ```hcl", *block, "  ```"]
    costs = [f"- **{r.stack}**: {_cost_line(c, _code)}" for r in reviews for c in r.costs]
    return [
        *_section("Data loss", loss),
        *_section("IAM widened", wider),
        *_section("Probable moves", moves),
        *_section("Monthly cost", costs),
    ]


def markdown(reviews: Sequence[StackReview]) -> str:
    """The review as Markdown for a pull request (out/review.md)."""
    lines = ["# Infrastructure plan review", "", summary(reviews), ""]
    costs = cost_summary(reviews)
    if costs:
        lines += [costs, ""]
    if exit_code(reviews) == NEEDS_ATTENTION:
        lines += ["> [!CAUTION]", "> This change loses data or grants more IAM: read the findings below.", ""]
    lines += _findings(reviews)
    for review in reviews:
        if not review.changed:
            continue
        lines += [f"## {review.stack}", ""]
        for action in ORDER:
            for change in review.of(action):
                lines += _markdown_resource(change)
        lines += [f"- **output** {_code(str(output))}" for output in review.outputs]
        lines.append("")
    unchanged = [r.stack for r in reviews if not r.changed]
    if unchanged:
        lines += [f"No changes: {', '.join(unchanged)}.", ""]
    return "\n".join(lines)


# --- terminal ----------------------------------------------------------------------------------------------


def _stack_table(review: StackReview) -> Table:
    table = Table(title=review.stack, title_justify="left", show_lines=True, expand=True)
    table.add_column("action", no_wrap=True)
    table.add_column("resource", overflow="fold")
    table.add_column("what changes", overflow="fold")
    for action in ORDER:
        for change in review.of(action):
            details = Text()
            if action == REPLACE:
                details.append(_why_replaced(change) + "\n", style="magenta")
            if change.moved_from:
                details.append(f"moved from {change.moved_from}\n", style="cyan")
            for attribute in change.attributes:
                details.append(f"{attribute}\n")
            if change.recomputed:
                details.append(f"{_recomputed(change)}\n", style="dim")
            for grant in change.iam_gained:
                details.append(f"+ {grant}\n", style="bold red")
            for grant in change.iam_dropped:
                details.append(f"- {grant}\n", style="dim")
            details.rstrip()
            table.add_row(Text(HEADINGS[action], style=STYLES[action]), change.address, details)
    for output in review.outputs:
        table.add_row("output", output.path, f"{output.before} -> {output.after}")
    return table


def print_review(reviews: Sequence[StackReview], console: Console) -> None:
    """The review on the terminal: findings in a red panel, then a table per changed stack."""
    findings = [
        Text(_loss_line(r.stack, c) + _unless_moved(r, c), style="bold red")
        for r in reviews
        for c in r.data_loss
    ]
    for review in reviews:
        for change in review.widened:
            findings.append(Text(f"{review.stack}: {change.address} grants more:", style="bold red"))
            findings += [Text(f"  + {grant}", style="red") for grant in change.iam_gained]
    if findings:
        console.print(Panel(Group(*findings), title="needs attention", border_style="red"))
    moves = [Text(f"{r.stack}: {_move_line(m)}\n{m.terraform_block}") for r in reviews for m in r.moves]
    if moves:
        console.print(Panel(Group(*moves), title="probable moves", border_style="cyan"))
    for review in reviews:
        if review.changed:
            console.print(_stack_table(review))
    for review in reviews:
        for cost in review.costs:
            console.print(
                f"{review.stack}: {_cost_line(cost)}", style="dim" if cost.monthly_gbp is None else ""
            )
    console.print(summary(reviews), style="bold")
    costs = cost_summary(reviews)
    if costs:
        console.print(costs, style="bold")
