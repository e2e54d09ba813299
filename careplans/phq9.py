"""The PHQ-9 depression questionnaire: items with their LOINC codes, scoring and severity bands.

Codes from LOINC panel 44249-1 "PHQ-9 quick depression assessment panel"; each item is answered
for the last two weeks on the LOINC answer list LL358-3 (0 not at all … 3 nearly every day).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError

PANEL_LOINC = "44249-1"
TOTAL_LOINC = "44261-6"
ITEMS: tuple[tuple[str, str], ...] = (
    ("44250-9", "Little interest or pleasure in doing things"),
    ("44255-8", "Feeling down, depressed, or hopeless"),
    ("44259-0", "Trouble falling or staying asleep, or sleeping too much"),
    ("44254-1", "Feeling tired or having little energy"),
    ("44251-7", "Poor appetite or overeating"),
    ("44258-2", "Feeling bad about yourself, or that you are a failure or have let yourself or your family down"),
    ("44252-5", "Trouble concentrating on things, such as reading the newspaper or watching television"),
    (
        "44253-3",
        "Moving or speaking so slowly that other people could have noticed, or the opposite: being so fidgety "
        "or restless that you have been moving around a lot more than usual",
    ),
    ("44260-8", "Thoughts that you would be better off dead, or of hurting yourself in some way"),
)
SAFETY_ITEM = "44260-8"  # item 9: any answer above 0 needs a safety follow-up the same day
ANSWERS = ((0, "Not at all"), (1, "Several days"), (2, "More than half the days"), (3, "Nearly every day"))

# (highest total, band, label)
BANDS = (
    (4, "none_minimal", "None to minimal"),
    (9, "mild", "Mild"),
    (14, "moderate", "Moderate"),
    (19, "moderately_severe", "Moderately severe"),
    (27, "severe", "Severe"),
)
SEVERITY_CHOICES = [(band, label) for _, band, label in BANDS]
MODERATE_OR_WORSE = ("moderate", "moderately_severe", "severe")


def field_name(number: int) -> str:
    """The form and API field of item `number` (1–9)."""
    return f"phq9_{number}"


def severity(total: int) -> str:
    for highest, band, _label in BANDS:
        if total <= highest:
            return band
    raise ValueError(f"A PHQ-9 total is 0–27, not {total}.")


@dataclass(frozen=True)
class Score:
    answers: dict[str, int]  # LOINC code -> 0..3
    total: int
    severity: str
    safety_flag: bool


def score(answers: list[object]) -> Score:
    """Score nine answers given in item order. Every bad answer is reported, naming its item."""
    errors = {}
    if len(answers) != len(ITEMS):
        raise ValidationError({"phq9": f"needs all {len(ITEMS)} answers, got {len(answers)}"})
    clean: dict[str, int] = {}
    for number, ((code, text), value) in enumerate(zip(ITEMS, answers, strict=True), start=1):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3:
            errors[field_name(number)] = f"Item {number} ({text[:40]}…) must be answered 0, 1, 2 or 3"
        else:
            clean[code] = value
    if errors:
        raise ValidationError(errors)
    total = sum(clean.values())
    return Score(answers=clean, total=total, severity=severity(total), safety_flag=clean[SAFETY_ITEM] > 0)
