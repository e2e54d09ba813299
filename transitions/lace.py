"""The LACE index of 30-day readmission risk (van Walraven et al., CMAJ 2010), from what the ADT
feed told us.

  L  length of stay in days        <1: 0, 1: 1, 2: 2, 3: 3, 4–6: 4, 7–13: 5, ≥14: 7
  A  acute (emergent) admission    3 if admitted as an emergency (PV1-4 "E", or through our ED)
  C  Charlson comorbidity index    0–3 as is, ≥4: 5 (from the stay's ICD-10 diagnoses, Quan 2005)
  E  ED visits in the 6 months before the admission   0–3 as is, ≥4: 4

Each part is computed only when its data are there; the score only when all four are. A score of
10 or more is high risk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

HIGH_RISK = 10

# Charlson conditions: ICD-10 code prefixes (dots removed) and weights; `over` names the milder
# condition a severe one replaces (counted once, at the higher weight).
_CHARLSON: list[tuple[str, int, tuple[str, ...], str]] = [
    ("Myocardial infarction", 1, ("I21", "I22", "I252"), ""),
    (
        "Congestive heart failure",
        1,
        ("I43", "I50", "I099", "I110", "I130", "I132", "I255", "I420", "I425", "I426", "I427", "I428", "I429", "P290"),
        "",
    ),
    (
        "Peripheral vascular disease",
        1,
        ("I70", "I71", "I731", "I738", "I739", "I771", "I790", "I792", "K551", "K558", "K559", "Z958", "Z959"),
        "",
    ),
    ("Cerebrovascular disease", 1, ("G45", "G46", "H340", *(f"I6{d}" for d in range(10))), ""),
    ("Dementia", 1, ("F00", "F01", "F02", "F03", "F051", "G30", "G311"), ""),
    (
        "Chronic pulmonary disease",
        1,
        (*(f"J4{d}" for d in range(8)), *(f"J6{d}" for d in range(8)), "I278", "I279", "J684", "J701", "J703"),
        "",
    ),
    ("Rheumatic disease", 1, ("M05", "M06", "M315", "M32", "M33", "M34", "M351", "M353", "M360"), ""),
    ("Peptic ulcer disease", 1, ("K25", "K26", "K27", "K28"), ""),
    (
        "Mild liver disease",
        1,
        (
            "B18",
            "K700",
            "K701",
            "K702",
            "K703",
            "K709",
            "K713",
            "K714",
            "K715",
            "K717",
            "K73",
            "K74",
            "K760",
            "K762",
            "K763",
            "K764",
            "K768",
            "K769",
            "Z944",
        ),
        "",
    ),
    (
        "Diabetes without complications",
        1,
        tuple(f"E1{t}{c}" for t in "01234" for c in "01689"),
        "",
    ),
    (
        "Diabetes with complications",
        2,
        tuple(f"E1{t}{c}" for t in "01234" for c in "23457"),
        "Diabetes without complications",
    ),
    (
        "Hemiplegia or paraplegia",
        2,
        ("G041", "G114", "G801", "G802", "G81", "G82", "G830", "G831", "G832", "G833", "G834", "G839"),
        "",
    ),
    (
        "Renal disease",
        2,
        (
            "I120",
            "I131",
            "N18",
            "N19",
            "N250",
            "Z490",
            "Z491",
            "Z492",
            "Z940",
            "Z992",
            *tuple(f"N0{a}{b}" for a in "35" for b in "234567"),
        ),
        "",
    ),
    (
        "Malignancy",
        2,
        tuple(f"C{n:02d}" for n in [*range(0, 27), *range(30, 35), *range(37, 42), 43, *range(45, 59)])
        + tuple(f"C{n:02d}" for n in [*range(60, 77), *range(81, 86), 88, *range(90, 98)]),
        "",
    ),
    (
        "Moderate or severe liver disease",
        3,
        ("I850", "I859", "I864", "I982", "K704", "K711", "K721", "K729", "K765", "K766", "K767"),
        "Mild liver disease",
    ),
    ("Metastatic solid tumour", 6, ("C77", "C78", "C79", "C80"), "Malignancy"),
    ("HIV / AIDS", 6, ("B20", "B21", "B22", "B24"), ""),
]


def charlson(codes: list[str]) -> tuple[int, list[str]]:
    """(Charlson index, the conditions found) for a list of ICD-10 codes."""
    normalized = [c.replace(".", "").upper().strip() for c in codes if c]
    found: dict[str, int] = {}
    replaced: set[str] = set()
    for name, weight, prefixes, over in _CHARLSON:
        if any(code.startswith(prefixes) for code in normalized):
            found[name] = weight
            if over:
                replaced.add(over)
    for name in replaced:
        found.pop(name, None)
    return sum(found.values()), sorted(found)


def _length_points(days: int) -> int:
    if days < 1:
        return 0
    if days <= 3:
        return days
    if days <= 6:
        return 4
    if days <= 13:
        return 5
    return 7


@dataclass(frozen=True)
class Lace:
    score: int | None
    parts: dict

    @property
    def high_risk(self) -> bool:
        return self.score is not None and self.score >= HIGH_RISK


def compute(
    *,
    admitted_at: dt.datetime | None,
    discharged_at: dt.datetime | None,
    admission_type: str,
    through_ed: bool,
    diagnosis_codes: list[str],
    ed_visits_6_months: int,
) -> Lace:
    """Each part as {points, basis} or {missing: why}; the score when no part is missing."""
    parts: dict[str, dict] = {}
    if admitted_at and discharged_at and discharged_at >= admitted_at:
        days = (discharged_at.date() - admitted_at.date()).days
        parts["L"] = {"points": _length_points(days), "basis": f"{days} day(s) in hospital"}
    else:
        parts["L"] = {"missing": "admission or discharge time not sent"}
    if admission_type.upper() == "E" or through_ed:
        parts["A"] = {"points": 3, "basis": "emergency admission"}
    elif admission_type:
        parts["A"] = {"points": 0, "basis": f"admission type {admission_type}"}
    else:
        parts["A"] = {"missing": "admission type (PV1-4) not sent"}
    if diagnosis_codes:
        index, conditions = charlson(diagnosis_codes)
        parts["C"] = {
            "points": 5 if index >= 4 else index,
            "basis": f"Charlson index {index}" + (f": {', '.join(conditions)}" if conditions else ""),
        }
    else:
        parts["C"] = {"missing": "no diagnoses (DG1) sent"}
    parts["E"] = {
        "points": min(ed_visits_6_months, 4),
        "basis": f"{ed_visits_6_months} ED visit(s) in the 6 months before (from ADT notices)",
    }
    score = None if any("missing" in p for p in parts.values()) else sum(p["points"] for p in parts.values())
    return Lace(score, parts)
