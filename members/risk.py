"""Risk stratification: a points model whose every input is shown beside the tier it produced.

Inputs come with the roster (the plan's predictive model and utilization counts). Points:
  predictive model score (0–1)     score × 40
  emergency visits, last 12 months 5 each, at most 20
  inpatient admissions, 12 months  10 each, at most 30
  chronic conditions               4 each, at most 20
Tier by total: 60+ very high, 40+ high, 20+ moderate, else low. A member with no inputs is
"not scored" rather than "low": absence of data is not absence of risk.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

TIERS = ((60, "very_high"), (40, "high"), (20, "moderate"), (0, "low"))


@dataclass(frozen=True)
class RiskInputs:
    model_score: Decimal | None = None
    ed_visits_12m: int | None = None
    inpatient_admits_12m: int | None = None
    chronic_conditions: int | None = None

    def is_empty(self) -> bool:
        return all(
            v is None
            for v in (self.model_score, self.ed_visits_12m, self.inpatient_admits_12m, self.chronic_conditions)
        )


def stratify(inputs: RiskInputs) -> tuple[str, int | None, list[dict[str, Any]]]:
    """(tier, total points, [{input, value, points}]) for the member summary and the API."""
    if inputs.is_empty():
        return "", None, []
    parts: list[dict[str, Any]] = []
    if inputs.model_score is not None:
        parts.append(
            {
                "input": "Predictive model score",
                "value": str(inputs.model_score),
                "points": round(inputs.model_score * 40),
            }
        )
    if inputs.ed_visits_12m is not None:
        parts.append(
            {
                "input": "Emergency visits (12 months)",
                "value": inputs.ed_visits_12m,
                "points": min(inputs.ed_visits_12m * 5, 20),
            }
        )
    if inputs.inpatient_admits_12m is not None:
        parts.append(
            {
                "input": "Inpatient admissions (12 months)",
                "value": inputs.inpatient_admits_12m,
                "points": min(inputs.inpatient_admits_12m * 10, 30),
            }
        )
    if inputs.chronic_conditions is not None:
        parts.append(
            {
                "input": "Chronic conditions",
                "value": inputs.chronic_conditions,
                "points": min(inputs.chronic_conditions * 4, 20),
            }
        )
    total = sum(p["points"] for p in parts)
    tier = next(name for floor, name in TIERS if total >= floor)
    return tier, total, parts
