"""Reading and checking a project proposal (the approval process's start form data).

Expected data (task-data JSON)::

    {"title": "...", "business_case": "...", "strategic_objective": "...",
     "category": "it", "budget": {"amount": "1200000.00", "currency": "CNY"},
     "planned_start": "2026-04-01", "planned_end": "2026-12-31", "sponsor": "sponsor1",
     "expected_roi_pct": "18.5", "risk_rating": "medium",
     "departments": ["IT", "Finance"], "headcount": 12}

A flat ``budget_amount`` + ``currency`` pair is accepted instead of ``budget``; errors
then name those fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.models import User
from workflows.records.currency import REPORTING_CURRENCY, check_currency, to_reporting
from workflows.records.validate import Fields
from workflows.records.vocab import PROJECT_CATEGORIES, RISK_RATINGS

ROI_MIN = Decimal("-100")
ROI_MAX = Decimal("1000")
HEADCOUNT_MAX = 100_000


def read_proposal(session: Session, data: Mapping[str, Any], *, pm: str) -> dict[str, Any]:
    """Column values of a proposal, or ``InvalidData`` naming every wrong field."""
    f = Fields(data)
    values: dict[str, Any] = {
        "title": f.text("title", max_len=300),
        "business_case": f.text("business_case", max_len=20_000),
        "strategic_objective": f.text("strategic_objective", max_len=500),
        "category": f.choice("category", PROJECT_CATEGORIES),
        "planned_start": f.day("planned_start"),
        "planned_end": f.day("planned_end"),
        "expected_roi_pct": f.decimal("expected_roi_pct", ROI_MIN, ROI_MAX),
        "risk_rating": f.choice("risk_rating", RISK_RATINGS),
        "departments": list(f.strings("departments", max_items=30, max_len=100)),
        "headcount": f.integer("headcount", 0, HEADCOUNT_MAX),
        "sponsor": f.text("sponsor", max_len=64),
    }
    values.update(_budget(f))
    start, end = values["planned_start"], values["planned_end"]
    if start and end and end < start:
        f.error("planned_end", "The planned end is before the planned start.")
    sponsor = values["sponsor"]
    if sponsor and sponsor == pm:
        f.error("sponsor", "The sponsor must be someone other than the project manager.")
    elif sponsor and not _active_user(session, sponsor):
        f.error("sponsor", f"No active user named {sponsor!r}.")
    f.check()
    return values


def _budget(f: Fields) -> dict[str, Any]:
    if not f.has("budget") and (f.has("budget_amount") or f.has("currency")):
        amount = f.amount("budget_amount")
        currency = f.text("currency", max_len=3).upper()
        currency_field = "currency"
        money = (amount, currency) if amount is not None and currency else None
    else:
        money = f.money("budget")
        currency_field = "budget.currency"
    if money is None:
        return {}
    amount, currency = money
    problem = check_currency(currency)
    if problem:
        f.error(currency_field, problem)
        return {}
    return {
        "budget_amount": amount,
        "currency": currency,
        "budget_reporting": to_reporting(amount, currency),
        "reporting_currency": REPORTING_CURRENCY,
    }


def read_actuals(data: Mapping[str, Any]) -> dict[str, Any]:
    """Closure figures: ``actual_end`` (date), ``actual_cost`` (money), satisfaction 1-5.

    Every key is optional; only those given are returned.
    """
    f = Fields(data)
    values: dict[str, Any] = {}
    if f.has("actual_end"):
        values["actual_end"] = f.day("actual_end")
    if f.has("actual_cost"):
        money = f.money("actual_cost")
        if money is not None:
            problem = check_currency(money[1])
            if problem:
                f.error("actual_cost.currency", problem)
            else:
                values["actual_cost_amount"], values["actual_cost_currency"] = money
                values["actual_cost_reporting"] = to_reporting(*money)
    if f.has("customer_satisfaction"):
        values["customer_satisfaction"] = f.integer("customer_satisfaction", 1, 5)
    f.check()
    return values


def _active_user(session: Session, username: str) -> bool:
    return session.scalar(
        select(User.id).where(User.username == username, User.active.is_(True))
    ) is not None
