"""A monthly AWS Budgets cost budget that e-mails the owner before the month's spend runs away."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn_provider_aws.budgets_budget import (
    BudgetsBudget,
    BudgetsBudgetCostFilter,
    BudgetsBudgetNotification,
)
from constructs import Construct


@dataclass(frozen=True)
class BudgetAlert:
    """E-mail when `kind` spend (ACTUAL or FORECASTED) passes `percent` of the month's limit."""

    kind: str
    percent: float


# 80 % of what was spent so far warns while there is still time; 100 % of the forecast warns the day the
# month's trend says the limit will be passed, usually well before the actual spend gets there.
ALERTS = (BudgetAlert("ACTUAL", 80), BudgetAlert("FORECASTED", 100))


@dataclass(frozen=True)
class BudgetSpec:
    """Budget `name`: `limit_usd` a month of what carries the tag `tag_key=tag_value`, alerts to `email`."""

    name: str
    limit_usd: float
    email: str
    tag_key: str
    tag_value: str


class MonthlyCostBudget(Construct):
    """A COST budget in USD reset every month, limited to what carries the spec's tag; it e-mails `ALERTS`.

    The tag filter counts only once the tag is activated as a cost allocation tag in the account's Billing
    console (Budgets filters on the `user:` form of activated tags); until then the budget sees nothing.

    Outputs: `budget`.
    """

    def __init__(self, scope: Construct, id_: str, spec: BudgetSpec) -> None:
        super().__init__(scope, id_)
        tag_key, tag_value, email = spec.tag_key, spec.tag_value, spec.email
        self.budget = BudgetsBudget(
            self,
            "budget",
            name=spec.name,
            budget_type="COST",
            limit_amount=f"{spec.limit_usd:.2f}",
            limit_unit="USD",
            time_unit="MONTHLY",
            cost_filter=[BudgetsBudgetCostFilter(name="TagKeyValue", values=[f"user:{tag_key}${tag_value}"])],
            notification=[
                BudgetsBudgetNotification(
                    comparison_operator="GREATER_THAN",
                    notification_type=alert.kind,
                    threshold=alert.percent,
                    threshold_type="PERCENTAGE",
                    subscriber_email_addresses=[email],
                )
                for alert in ALERTS
            ],
        )
