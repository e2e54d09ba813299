"""AHC HRSN and PRAPARE scoring, and reading screenings from the shared FHIR corpus.

Plain functions, no database: the module under test is pure Python.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from sdoh import instruments as si
from sdoh.instruments import AHC_HRSN, PRAPARE, AnswerError, FhirReadError, score
from tests.corpus import REPO, corpus_dir

SCREENING_CORPUS = corpus_dir("fhir", "sdoh-screening", holding="*.json")

NEVER, RARELY, SOMETIMES, FAIRLY_OFTEN, FREQUENTLY = "LA6270-8", "LA10066-1", "LA10082-8", "LA16644-9", "LA6482-9"
SAFETY_ITEMS = ("95618-5", "95617-7", "95616-9", "95615-1")
YES, NO = "LA33-6", "LA32-8"


def ahc_answers(**overrides: str | list[str]) -> dict[str, str | list[str]]:
    """A complete AHC core screening with no need in any domain; overrides use underscores for dashes."""
    answers: dict[str, str | list[str]] = {
        "71802-3": "LA31993-1",  # I have a steady place to live
        "96778-6": ["LA9-3"],  # None of the above
        "88122-7": "LA28398-8",  # Never true
        "88123-5": "LA28398-8",
        "93030-5": NO,
        "96779-4": NO,
        **dict.fromkeys(SAFETY_ITEMS, NEVER),
    }
    answers.update({code.replace("_", "-"): value for code, value in overrides.items()})
    return answers


def prapare_answers(**overrides: str | list[str]) -> dict[str, str | list[str]]:
    """A complete PRAPARE (required items only) with no risk."""
    answers: dict[str, str | list[str]] = {
        "71802-3": "LA30189-7",  # I have housing
        "93033-9": NO,
        "82589-3": "LA30193-9",  # More than high school
        "67875-5": "LA30136-8",  # Full-time work
        "76437-3": "LA6350-8",  # Private insurance
        "93030-5": [NO],
        "93029-7": "LA30132-7",  # 5 or more times a week
        "93038-8": "LA6568-5",  # Not at all
    }
    answers.update({code.replace("_", "-"): value for code, value in overrides.items()})
    return answers


def need_codes(result: si.ScreeningResult) -> list[str]:
    return [need.category.code for need in result.needs]


def load(name: str) -> dict:
    return json.loads((SCREENING_CORPUS / name).read_text())


@pytest.fixture(scope="module")
def corpus_index() -> dict[str, dict]:
    """Every corpus resource by "Type/id", to resolve panel members as a FHIR server would."""
    index = {}
    for path in SCREENING_CORPUS.glob("*.json"):
        resource = json.loads(path.read_text())
        index[f"{resource['resourceType']}/{resource['id']}"] = resource
    return index


# --- AHC: one test group per domain --------------------------------------------------------------


def test_ahc_screening_with_no_need_is_negative_in_every_domain():
    result = score(AHC_HRSN, ahc_answers())

    assert [(domain.code, domain.positive) for domain in result.domains] == [
        ("living_situation", False),
        ("food", False),
        ("transportation", False),
        ("utilities", False),
        ("interpersonal_safety", False),
    ]
    assert result.needs == ()
    assert result.domain("interpersonal_safety").score == 4


@pytest.mark.parametrize(
    ("answer", "need"),
    [("LA31994-9", "housing_instability"), ("LA31995-6", "homelessness")],
)
def test_unsteady_living_situation_is_a_housing_need(answer, need):
    result = score(AHC_HRSN, ahc_answers(**{"71802_3": answer}))

    domain = result.domain("living_situation")
    assert domain.positive is True
    assert [selected.answer_code for selected in domain.evidence] == [answer]
    assert need_codes(result) == [need]


@pytest.mark.parametrize(
    "problem", ["LA31996-4", "LA28580-1", "LA31997-2", "LA31998-0", "LA31999-8", "LA32000-4", "LA32001-2"]
)
def test_any_problem_with_the_home_is_inadequate_housing(problem):
    result = score(AHC_HRSN, ahc_answers(**{"96778_6": [problem]}))

    assert result.domain("living_situation").positive is True
    assert need_codes(result) == ["inadequate_housing"]
    assert result.needs[0].category.problem_codes[0].code == "Z59.10"


def test_homeless_member_with_problems_at_the_place_they_stay_gets_two_needs_with_their_evidence():
    result = score(AHC_HRSN, ahc_answers(**{"71802_3": "LA31995-6", "96778_6": ["LA28580-1", "LA32001-2"]}))

    assert need_codes(result) == ["homelessness", "inadequate_housing"]
    assert [selected.answer_display for selected in result.needs[1].evidence] == ["Mold", "Water leaks"]


def test_none_of_the_above_cannot_be_combined_with_a_housing_problem():
    with pytest.raises(AnswerError) as caught:
        score(AHC_HRSN, ahc_answers(**{"96778_6": ["LA9-3", "LA28580-1"]}))

    assert caught.value.by_question() == {"96778-6": ["“None of the above” cannot be combined with other answers."]}


@pytest.mark.parametrize("question", ["88122-7", "88123-5"])
@pytest.mark.parametrize("answer", ["LA28397-0", "LA6729-3"])  # Often true, Sometimes true
def test_often_or_sometimes_true_to_either_food_question_is_food_insecurity(question, answer):
    result = score(AHC_HRSN, ahc_answers(**{question.replace("-", "_"): answer}))

    food = result.domain("food")
    assert food.positive is True
    assert [(selected.question_code, selected.answer_code) for selected in food.evidence] == [(question, answer)]
    need = result.needs[0].category
    assert (need.code, need.gravity_code) == ("food_insecurity", "food-insecurity")
    assert [coding.code for coding in need.problem_codes] == ["733423003", "Z59.41"]


def test_transportation_yes_is_positive_and_no_is_negative():
    assert score(AHC_HRSN, ahc_answers(**{"93030_5": YES})).domain("transportation").positive is True
    assert score(AHC_HRSN, ahc_answers(**{"93030_5": NO})).domain("transportation").positive is False


@pytest.mark.parametrize(("answer", "positive"), [(YES, True), ("LA32002-0", True), (NO, False)])
def test_utilities_threatened_or_already_shut_off_is_positive(answer, positive):
    result = score(AHC_HRSN, ahc_answers(**{"96779_4": answer}))

    assert result.domain("utilities").positive is positive
    assert need_codes(result) == (["utility_insecurity"] if positive else [])


@pytest.mark.parametrize(
    ("items", "total", "positive"),
    [
        ((NEVER, NEVER, NEVER, NEVER), 4, False),
        ((SOMETIMES, SOMETIMES, RARELY, RARELY), 10, False),
        ((SOMETIMES, SOMETIMES, SOMETIMES, RARELY), 11, True),
        ((FREQUENTLY, FREQUENTLY, FREQUENTLY, FREQUENTLY), 20, True),
        ((FAIRLY_OFTEN, FAIRLY_OFTEN, NEVER, NEVER), 10, False),
    ],
)
def test_safety_is_positive_from_a_score_of_eleven(items, total, positive):
    overrides = {code.replace("-", "_"): item for code, item in zip(SAFETY_ITEMS, items, strict=True)}

    result = score(AHC_HRSN, ahc_answers(**overrides))

    safety = result.domain("interpersonal_safety")
    assert (safety.score, safety.positive) == (total, positive)
    assert need_codes(result) == (["interpersonal_safety"] if positive else [])


def test_safety_evidence_leaves_out_never_answers():
    answers = ahc_answers(**{"95618_5": FREQUENTLY, "95617_7": FREQUENTLY, "95616_9": NEVER, "95615_1": RARELY})

    safety = score(AHC_HRSN, answers).domain("interpersonal_safety")

    assert safety.score == 13
    assert [(selected.question_code, selected.answer_display) for selected in safety.evidence] == [
        ("95618-5", "Frequently"),
        ("95617-7", "Frequently"),
        ("95615-1", "Rarely"),
    ]


def test_reported_safety_total_must_match_the_items():
    assert score(AHC_HRSN, ahc_answers(**{"95614_4": "4"})).domain("interpersonal_safety").score == 4

    with pytest.raises(AnswerError) as caught:
        score(AHC_HRSN, ahc_answers(**{"95614_4": "12"}))

    assert str(caught.value) == ("95614-4 “Safety total score”: The reported total 12 does not match the items' sum 4.")


@pytest.mark.parametrize("total", ["3", "21", "four"])
def test_safety_total_outside_4_to_20_is_refused(total):
    with pytest.raises(AnswerError) as caught:
        score(AHC_HRSN, {"95614-4": total}, partial=True)

    assert list(caught.value.by_question()) == ["95614-4"]


def test_partial_safety_is_judged_from_what_is_known():
    only_total = score(AHC_HRSN, {"95614-4": "12"}, partial=True).domain("interpersonal_safety")
    already_eleven = score(
        AHC_HRSN, {"95618-5": FREQUENTLY, "95617-7": FREQUENTLY, "95616-9": NEVER}, partial=True
    ).domain("interpersonal_safety")
    not_yet = score(AHC_HRSN, {"95618-5": FREQUENTLY, "95617-7": NEVER}, partial=True).domain("interpersonal_safety")

    assert (only_total.positive, only_total.score) == (True, 12)
    assert (already_eleven.positive, already_eleven.score) == (True, None)
    assert (not_yet.positive, not_yet.score) == (None, None)


def test_partial_screening_leaves_unasked_domains_undecided():
    result = score(AHC_HRSN, {"88122-7": "LA28398-8"}, partial=True)

    assert [(domain.code, domain.positive) for domain in result.domains] == [
        ("living_situation", None),
        ("food", None),  # the second food question could still be positive
        ("transportation", None),
        ("utilities", None),
        ("interpersonal_safety", None),
    ]


def test_supplemental_substance_use_answers_are_recorded_but_not_scored():
    result = score(AHC_HRSN, ahc_answers(**{"68517_2": "LA18934-2"}))

    assert result.answers["68517-2"] == ("LA18934-2",)
    assert result.needs == ()


# --- Bad input -----------------------------------------------------------------------------------


def test_unknown_question_is_named():
    with pytest.raises(AnswerError) as caught:
        score(AHC_HRSN, ahc_answers(**{"12345_6": YES}))

    (error,) = caught.value.errors
    assert (error.question_code, error.question_text) == ("12345-6", "")
    assert str(error) == "12345-6: This is not a question of the AHC HRSN screening."


def test_answer_not_allowed_for_the_question_names_the_question_and_its_text():
    with pytest.raises(AnswerError) as caught:
        score(AHC_HRSN, ahc_answers(**{"71802_3": "LA30190-5"}))  # PRAPARE's "I do not have housing"

    (error,) = caught.value.errors
    assert error.question_code == "71802-3"
    assert error.question_text == "What is your living situation today?"
    assert "'LA30190-5' is not an answer to this question" in error.message
    assert "LA31995-6 (I do not have a steady place to live" in error.message
    assert isinstance(caught.value, ValueError)


def test_missing_required_questions_are_each_named_in_form_order():
    answers = ahc_answers()
    del answers["88123-5"], answers["95615-1"]

    with pytest.raises(AnswerError) as caught:
        score(AHC_HRSN, answers)

    assert [(error.question_code, error.message) for error in caught.value.errors] == [
        ("88123-5", "This question is required."),
        ("95615-1", "This question is required."),
    ]
    assert "scream or curse at you" in caught.value.errors[1].question_text


def test_missing_questions_are_allowed_in_partial_mode():
    assert score(AHC_HRSN, {"93030-5": YES}, partial=True).domain("transportation").positive is True


def test_every_problem_is_reported_at_once():
    answers = ahc_answers(**{"88122_7": "LA9-3", "93030_5": [YES, NO]})
    del answers["96779-4"]

    with pytest.raises(AnswerError) as caught:
        score(AHC_HRSN, answers)

    assert caught.value.by_question() == {
        "88122-7": [
            "'LA9-3' is not an answer to this question. Allowed: LA28397-0 (Often true), LA6729-3 (Sometimes true), "
            "LA28398-8 (Never true)."
        ],
        "93030-5": ["This question takes one answer, not 2."],
        "96779-4": ["This question is required."],
    }


def test_an_empty_answer_counts_as_missing():
    with pytest.raises(AnswerError) as caught:
        score(AHC_HRSN, ahc_answers(**{"96778_6": []}))

    assert caught.value.by_question() == {"96778-6": ["This question is required."]}


def test_unknown_instrument_is_refused():
    with pytest.raises(si.InstrumentError, match="No screening instrument 'phq-9'"):
        score("phq-9", {})


# --- PRAPARE --------------------------------------------------------------------------------------


def test_prapare_with_no_risk_has_no_needs_and_leaves_unasked_optional_domains_undecided():
    result = score(PRAPARE, prapare_answers())

    assert result.needs == ()
    assert result.domain("material_security").positive is False  # nothing selected: no unmet need
    assert result.domain("safety").positive is None  # optional question, not asked
    assert result.domain("partner_safety").positive is None


@pytest.mark.parametrize(
    ("overrides", "domain", "need"),
    [
        ({"71802_3": "LA30190-5"}, "housing", "homelessness"),
        ({"93033_9": YES}, "housing", "housing_instability"),
        ({"82589_3": "LA30191-3"}, "education", "educational_attainment"),
        ({"67875_5": "LA17956-6"}, "employment", "unemployment"),
        ({"76437_3": "LA30194-7"}, "insurance", "uninsured"),
        ({"93031_3": ["LA30125-1"]}, "material_security", "food_insecurity"),
        ({"93031_3": ["LA30124-4"]}, "material_security", "utility_insecurity"),
        ({"93031_3": ["LA30128-5"]}, "material_security", "material_hardship"),
        ({"93030_5": ["LA30133-5"]}, "transportation", "transportation_insecurity"),
        ({"93029_7": "LA27722-0"}, "social_integration", "social_isolation"),
        ({"93038_8": "LA13902-4"}, "stress", "stress"),
        ({"93038_8": "LA13914-9"}, "stress", "stress"),
        ({"93028_9": YES}, "incarceration", "incarceration"),
        ({"93026_3": NO}, "safety", "interpersonal_safety"),
        ({"76501_6": YES}, "partner_safety", "intimate_partner_violence"),
    ],
)
def test_prapare_risk_answers_become_needs(overrides, domain, need):
    result = score(PRAPARE, prapare_answers(**overrides))

    assert result.domain(domain).positive is True
    assert need_codes(result) == [need]


@pytest.mark.parametrize(
    "overrides",
    [
        {"67875_5": "LA30138-4"},  # part-time work
        {"76437_3": "LA17849-3"},  # Medicaid
        {"93029_7": "LA30130-1"},  # 1 or 2 times a week
        {"93038_8": "LA13909-9"},  # somewhat stressed
        {"93026_3": YES},
        {"93027_1": YES, "93034_7": YES, "93035_4": YES},  # characteristics are recorded, not needs
    ],
)
def test_prapare_answers_that_are_not_risks(overrides):
    assert score(PRAPARE, prapare_answers(**overrides)).needs == ()


def test_food_and_utilities_needs_are_the_same_categories_from_either_instrument():
    prapare = score(PRAPARE, prapare_answers(**{"93031_3": ["LA30125-1", "LA30124-4", "LA30126-9"]}))
    ahc = score(AHC_HRSN, ahc_answers(**{"88122_7": "LA6729-3", "96779_4": YES}))

    assert need_codes(prapare) == ["food_insecurity", "utility_insecurity", "material_hardship"]
    assert sorted(need_codes(prapare)[:2]) == sorted(need_codes(ahc))


def test_declining_a_question_does_not_rule_the_need_out():
    result = score(PRAPARE, prapare_answers(**{"93033_9": "LA30122-8"}))

    assert result.domain("housing").positive is None


def test_declining_cannot_be_combined_with_other_material_needs():
    with pytest.raises(AnswerError) as caught:
        score(PRAPARE, prapare_answers(**{"93031_3": ["LA30125-1", "LA30122-8"]}))

    assert caught.value.by_question() == {
        "93031-3": ["“I choose not to answer this question” cannot be combined with other answers."]
    }


@pytest.mark.parametrize(("question", "value"), [("63512-8", "six"), ("63512-8", "2.5"), ("63586-2", "-100")])
def test_prapare_numbers_are_checked(question, value):
    with pytest.raises(AnswerError) as caught:
        score(PRAPARE, prapare_answers(**{question.replace("-", "_"): value}))

    assert list(caught.value.by_question()) == [question]


def test_prapare_missing_core_question_is_named():
    answers = prapare_answers()
    del answers["93038-8"]

    with pytest.raises(AnswerError) as caught:
        score(PRAPARE, answers)

    (error,) = caught.value.errors
    assert error.question_code == "93038-8"
    assert error.question_text.endswith("How stressed are you?")


# --- Need catalogue ------------------------------------------------------------------------------

# The codes of the SDOHCC temporary code system (HL7/fhir-sdoh-clinicalcare) that name SDOH domains.
GRAVITY_DOMAINS = {
    "food-insecurity", "housing-instability", "homelessness", "inadequate-housing", "transportation-insecurity",
    "financial-insecurity", "material-hardship", "educational-attainment", "employment-status", "veteran-status",
    "stress", "social-connection", "intimate-partner-violence", "elder-abuse", "personal-health-literacy",
    "health-insurance-coverage-status", "medical-cost-burden", "digital-literacy", "digital-access",
    "utility-insecurity", "language-access", "incarceration-status",
}  # fmt: skip


def test_every_risk_answer_names_a_known_need_category():
    named = {
        option.need
        for instrument in si.INSTRUMENTS.values()
        for question in instrument.questions
        for option in question.options
        if option.need
    } | {domain.need for instrument in si.INSTRUMENTS.values() for domain in instrument.domains if domain.need}

    assert named == set(si.NEED_CATEGORIES)


@pytest.mark.parametrize("need", si.NEED_CATEGORIES.values(), ids=lambda need: need.code)
def test_every_need_has_a_problem_a_member_facing_goal_and_well_formed_codes(need):
    assert need.gravity_code is None or need.gravity_code in GRAVITY_DOMAINS
    assert need.problem and need.goal.startswith(("I ", "My ", "The "))
    for coding in need.problem_codes + need.goal_codes:
        if coding.system == si.ICD10CM:
            assert re.fullmatch(r"Z\d\d\.\d{1,3}", coding.code)
        else:
            assert coding.system == si.SNOMED and coding.code.isdigit()


def test_ahc_core_domains_align_with_gravity():
    gravity = {code: si.NEED_CATEGORIES[code].gravity_code for code in (
        "housing_instability", "inadequate_housing", "food_insecurity", "transportation_insecurity",
        "utility_insecurity", "homelessness",
    )}  # fmt: skip

    assert gravity == {
        "housing_instability": "housing-instability",
        "inadequate_housing": "inadequate-housing",
        "food_insecurity": "food-insecurity",
        "transportation_insecurity": "transportation-insecurity",
        "utility_insecurity": "utility-insecurity",
        "homelessness": "homelessness",
    }


def test_module_imports_without_django():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    code = "import sys, sdoh.instruments; print('django' in sys.modules)"

    ran = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)

    assert ran.stdout.strip() == "False"


# --- Reading FHIR: every corpus file --------------------------------------------------------------

# What each corpus file reads as; a new corpus file fails `test_every_corpus_file_is_expected` until
# it is added here. Panels are read with their members resolved from the corpus.
PRAPARE_QR_ANSWERS = {
    "56051-6": "LA32-8",
    "32624-9": ["LA4457-3", "LA30187-1"],
    "93035-4": YES,
    "93034-7": NO,
    "54899-0": "LA43-5",
    "63512-8": "6",
    "71802-3": "LA30190-5",
    "93033-9": "LA30122-8",
    "56799-0": "Broadway",
    "82589-3": "LA30191-3",
    "67875-5": "LA17956-6",
    "76437-3": "LA17849-3",
    "63586-2": "25000",
    "93031-3": ["LA30126-9", "LA30127-7"],
    "93030-5": ["LA30134-3"],
    "93029-7": "LA30130-1",
    "93038-8": "LA13909-9",
    "93028-9": NO,
    "93027-1": NO,
    "93026-3": NO,
    "76501-6": NO,
}
SUBPANELS = {
    "93043-8": ("56051-6", "32624-9", "93035-4", "93034-7", "54899-0"),
    "93042-0": ("63512-8", "71802-3", "93033-9", "56799-0"),
    "93041-2": ("82589-3", "67875-5", "76437-3", "63586-2", "93031-3", "93030-5"),
    "93040-4": ("93029-7", "93038-8"),
    "93039-6": ("93028-9", "93027-1", "93026-3", "76501-6"),
}
SINGLE_ITEMS = (
    "54899-0", "56051-6", "56799-0", "63512-8", "63586-2", "67875-5", "71802-3", "76437-3", "76501-6", "82589-3",
    "93026-3", "93027-1", "93028-9", "93029-7", "93030-5", "93033-9", "93034-7", "93035-4", "93038-8",
)  # fmt: skip
READS_AS: dict[str, tuple[str, dict]] = {
    "AHC-HRSN-item-example-68517-2.json": (AHC_HRSN, {"68517-2": "LA18934-2"}),
    "QuestionnaireResponse-PRAPARE-example.json": (PRAPARE, PRAPARE_QR_ANSWERS),
    "Observation-PRAPARE-panel-example-93025-5.json": (PRAPARE, PRAPARE_QR_ANSWERS),
    **{
        f"Observation-PRAPARE-panel-example-{panel}.json": (PRAPARE, {code: PRAPARE_QR_ANSWERS[code] for code in codes})
        for panel, codes in SUBPANELS.items()
    },
    **{
        f"Observation-PRAPARE-item-example-{code}.json": (PRAPARE, {code: PRAPARE_QR_ANSWERS[code]})
        for code in SINGLE_ITEMS
    },
    "Observation-PRAPARE-multiselect-item-example-32624-9-answer0.json": (PRAPARE, {"32624-9": ["LA4457-3"]}),
    "Observation-PRAPARE-multiselect-item-example-32624-9-answer1.json": (PRAPARE, {"32624-9": ["LA30187-1"]}),
    "Observation-PRAPARE-multiselect-item-example-93031-3-answer0.json": (PRAPARE, {"93031-3": ["LA30126-9"]}),
    "Observation-PRAPARE-multiselect-item-example-93031-3-answer1.json": (PRAPARE, {"93031-3": ["LA30127-7"]}),
}
REFUSED: dict[str, str] = {
    "Questionnaire-hunger-vital-sign-example.json": r"a Questionnaire \(a blank form\), not a screening",
    "Questionnaire-prapare-example.json": r"a Questionnaire \(a blank form\), not a screening",
    # The Hunger Vital Sign is neither AHC nor PRAPARE; its third item, the risk, gives it away.
    "QuestionnaireResponse-hunger-vital-sign-example.json": "not an AHC HRSN or PRAPARE screening.*88124-3",
}


def test_every_corpus_file_is_expected():
    assert {path.name for path in SCREENING_CORPUS.glob("*.json")} == set(READS_AS) | set(REFUSED)


@pytest.mark.parametrize("name", sorted(READS_AS))
def test_corpus_screening_is_read_and_scores_partially(name, corpus_index):
    instrument, answers = READS_AS[name]

    read = si.from_fhir(load(name), resolve=corpus_index)

    assert read == (instrument, answers)
    result = score(*read, partial=True)
    assert result.answers == {code: tuple([v] if isinstance(v, str) else v) for code, v in answers.items()}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_corpus_files_that_are_not_screenings_are_refused_clearly(name):
    with pytest.raises(FhirReadError, match=REFUSED[name]):
        si.from_fhir(load(name))


def test_corpus_prapare_response_scores_completely_with_its_needs():
    result = score(*si.from_fhir(load("QuestionnaireResponse-PRAPARE-example.json")))

    assert need_codes(result) == [
        "homelessness",
        "educational_attainment",
        "unemployment",
        "material_hardship",
        "transportation_insecurity",
        "interpersonal_safety",
    ]
    assert [selected.answer_display for selected in result.needs[3].evidence] == ["Clothing", "Child care"]
    assert result.domain("housing").positive is True  # declining the worry question does not hide homelessness
    assert result.domain("stress").positive is False


def test_panel_without_its_members_says_which_are_missing():
    with pytest.raises(FhirReadError, match="Missing: Observation/PRAPARE-item-example-93029-7, Observation/PRAPARE"):
        si.from_fhir(load("Observation-PRAPARE-panel-example-93040-4.json"))


def test_bundle_of_a_panel_and_its_members_resolves_itself(corpus_index):
    panel = load("Observation-PRAPARE-panel-example-93040-4.json")
    members = [corpus_index[member["reference"]] for member in panel["hasMember"]]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"https://fhir.example/Observation/{r['id']}", "resource": r} for r in [*members, panel]],
    }

    assert si.from_fhir(bundle) == (PRAPARE, {"93029-7": "LA30130-1", "93038-8": "LA13909-9"})


def test_resolver_may_be_a_function_and_references_may_be_absolute(corpus_index):
    panel = load("Observation-PRAPARE-panel-example-93040-4.json")
    panel["hasMember"] = [{"reference": f"https://fhir.example/{m['reference']}"} for m in panel["hasMember"]]

    assert si.from_fhir(panel, resolve=corpus_index.get)[1] == {"93029-7": "LA30130-1", "93038-8": "LA13909-9"}


def observation(code: str, answer: str | None = None, **extra) -> dict:
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": si.LOINC, "code": code}]},
    }
    if answer is not None:
        resource["valueCodeableConcept"] = {"coding": [{"system": si.LOINC, "code": answer}]}
    return resource | extra


def test_ahc_panel_with_component_items_is_read_and_scored():
    items = ahc_answers(**{"88123_5": "LA28397-0", "95614_4": "4"})
    components = []
    for code, value in items.items():
        for one in [value] if isinstance(value, str) else value:
            component = {"code": {"coding": [{"system": si.LOINC, "code": code}]}}
            if code == "95614-4":
                component["valueQuantity"] = {"value": 4.0}
            else:
                component["valueCodeableConcept"] = {"coding": [{"system": si.LOINC, "code": one}]}
            components.append(component)

    instrument, answers = si.from_fhir(observation(AHC_HRSN, component=components))

    assert (instrument, answers) == (AHC_HRSN, items | {"95614-4": "4"})
    assert need_codes(score(instrument, answers)) == ["food_insecurity"]


def test_ahc_questionnaire_response_in_the_us_core_shape_is_read():
    items = {"71802-3": "LA31994-9", "96778-6": ["LA32001-2", "LA31996-4"], "88122-7": "LA28398-8"}
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": "http://hl7.org/fhir/us/core/Questionnaire/ahc-hrsn-screening-example",
        "item": [
            {"linkId": f"/{code}", "answer": [{"valueCoding": {"system": si.LOINC, "code": v}} for v in values]}
            for code, values in ((c, [v] if isinstance(v, str) else v) for c, v in items.items())
        ]
        + [{"linkId": "/95614-4", "answer": [{"valueDecimal": 4}]}],
    }

    assert si.from_fhir(response) == (AHC_HRSN, items | {"95614-4": "4"})


def test_an_item_both_instruments_ask_needs_the_instrument_named():
    transport_no = observation("93030-5", NO)  # AHC and PRAPARE both ask 93030-5, both allow "No"

    with pytest.raises(FhirReadError, match="fit both AHC HRSN and PRAPARE; pass `instrument=`"):
        si.from_fhir(transport_no)
    assert si.from_fhir(transport_no, instrument=AHC_HRSN) == (AHC_HRSN, {"93030-5": NO})
    # An answer only one of them allows settles it.
    assert si.from_fhir(observation("93030-5", "LA30133-5"))[0] == PRAPARE


def test_member_without_a_value_but_with_a_reason_adds_nothing():
    asked_declined = observation("93038-8", dataAbsentReason={"coding": [{"code": "asked-declined"}]})
    panel = observation("93040-4", hasMember=[{"reference": "Observation/stress"}])

    assert si.from_fhir(panel, resolve={"Observation/stress": asked_declined}) == (PRAPARE, {})


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        (observation("93038-8"), r"\(93038-8\) has no value, members or reason"),
        (
            observation("93038-8") | {"valueCodeableConcept": {"coding": [{"system": si.SNOMED, "code": "1"}]}},
            "The answer to 93038-8 has no LOINC code",
        ),
        (observation("93038-8") | {"valueBoolean": True}, "of a kind we do not read"),
        (observation("93038-8", "LA13909-9") | {"status": "entered-in-error"}, "is entered-in-error"),
        ({"resourceType": "Patient"}, "Cannot read a screening from a Patient"),
        ({"resourceType": "Bundle", "entry": []}, "The Bundle should hold one screening"),
        ([], "Expected a FHIR resource as a JSON object"),
    ],
)
def test_unreadable_resources_are_refused_with_the_reason(resource, message):
    with pytest.raises(FhirReadError, match=message):
        si.from_fhir(resource)
