"""The comprehensive assessment and its PHQ-9: scoring, bands, the safety item, the care plan."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from careplans import phq9, services
from careplans.models import Assessment, CarePlan, Problem
from core.models import Notification


def url(member, rest=""):
    return f"/members/{member.public_id}/assessments/{rest}"


def phq9_post(answers):
    return {phq9.field_name(n): str(a) for n, a in enumerate(answers, start=1)}


def test_loinc_codes_are_the_phq9_panels():
    assert phq9.PANEL_LOINC == "44249-1" and phq9.TOTAL_LOINC == "44261-6"
    assert [code for code, _ in phq9.ITEMS] == [
        "44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "none_minimal"), (4, "none_minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
     (15, "moderately_severe"), (19, "moderately_severe"), (20, "severe"), (27, "severe")],
)  # fmt: skip
def test_severity_bands_at_their_edges(total, band):
    answers = [3] * (total // 3) + ([total % 3] if total % 3 else [])
    answers += [0] * (9 - len(answers))
    result = phq9.score(answers)
    assert (result.total, result.severity) == (total, band)


def test_bad_answers_are_reported_by_item():
    with pytest.raises(ValidationError) as error:
        phq9.score([0, 1, 4, 2, -1, 0, "2", 0, True])
    assert set(error.value.message_dict) == {"phq9_3", "phq9_5", "phq9_7", "phq9_9"}
    assert "Item 3 (Trouble falling" in error.value.message_dict["phq9_3"][0]
    with pytest.raises(ValidationError, match="all 9"):
        phq9.score([0, 1])


def test_item_nine_flags_a_safety_follow_up_and_tells_the_supervisor(world):
    assessment = services.assessment_record(
        actor=world.actor(world.a_cm), member=world.m_a1, values={}, phq9_answers=[0, 0, 0, 0, 0, 0, 0, 0, 1]
    )
    assert assessment.safety_followup_needed and assessment.phq9_total == 1
    assert assessment.phq9_answers["44260-8"] == 1
    notice = Notification.objects.get(kind="assessment.safety", recipient=world.a_supervisor)
    assert notice.email_wanted and "item 9" in notice.title
    calm = services.assessment_record(
        actor=world.actor(world.a_cm), member=world.m_a1, values={}, phq9_answers=[3, 3, 3, 3, 0, 0, 0, 0, 0]
    )
    assert not calm.safety_followup_needed
    assert Notification.objects.filter(kind="assessment.safety").count() == 2  # supervisor and assessor, once


def test_the_database_refuses_a_half_scored_phq9(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Assessment.objects.create(
            plan=world.plan_a, member=world.m_a1, assessed_by=world.a_cm, assessed_on="2026-01-01", phq9_total=30,
            phq9_answers={}, phq9_severity="severe",
        )  # fmt: skip


def test_the_form_names_the_unanswered_or_bad_item_and_records_nothing(world, client_for):
    client = client_for(world.a_cm)
    data = {"assessed_on": "2026-01-05", **phq9_post([1, 1, 1, 1, 1, 1, 1, 1, 1])}
    data["phq9_4"] = ""
    data["phq9_6"] = "7"
    response = client.post(url(world.m_a1), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "4. Feeling tired or having little energy" in body and "Answer item 4 too" in body
    assert "6. Feeling bad about yourself" in body and "Select a valid choice" in body
    assert not Assessment.objects.exists()


def test_moderate_phq9_offers_a_behavioral_problem_on_the_care_plan_in_one_click(world, client_for):
    client = client_for(world.a_cm)
    data = {
        "assessed_on": str(world.plan_a.local_date()),
        "housing": "at_risk",
        "food_insecurity": "on",
        "behavioral_notes": "Low mood since job loss",
        **phq9_post([2, 2, 1, 1, 1, 1, 1, 1, 1]),
    }
    response = client.post(url(world.m_a1), data)
    assert response.status_code == 302
    assessment = Assessment.objects.get()
    assert (assessment.phq9_total, assessment.phq9_severity) == (11, "moderate")
    assert assessment.housing == "at_risk" and assessment.food_insecurity
    page = client.get(response["Location"]).content.decode()
    assert "Moderate" in page and "Add a behavioral problem to the care plan" in page and "44261-6" in page
    response = client.post(url(world.m_a1, f"{assessment.public_id}/add-to-care-plan/"))
    assert response.status_code == 302
    problem = Problem.objects.get()
    assert problem.domain == "behavioral" and "PHQ-9 11 (moderate)" in problem.description
    assert not problem.shareable
    care_plan = CarePlan.objects.get(member=world.m_a1)
    assert care_plan.version == 2  # started, problem added
    client.post(url(world.m_a1, f"{assessment.public_id}/add-to-care-plan/"))  # a second click adds nothing
    assert Problem.objects.count() == 1


def test_a_mild_phq9_offers_nothing(world, client_for):
    assessment = services.assessment_record(
        actor=world.actor(world.a_cm), member=world.m_a1, values={}, phq9_answers=[1] * 5 + [0] * 4
    )
    page = client_for(world.a_cm).get(url(world.m_a1, f"{assessment.public_id}/")).content.decode()
    assert "Mild" in page and "Add a behavioral problem" not in page
    with pytest.raises(ValidationError):
        services.assessment_add_problem(actor=world.actor(world.a_cm), assessment=assessment)


def test_assessments_are_the_plans_own(world, client_for):
    from tests.conftest import make_release

    make_release(world.m_a1, world.p1)
    assessment = services.assessment_record(actor=world.actor(world.a_cm), member=world.m_a1, values={})
    practice = client_for(world.p1_contact)
    assert practice.get(url(world.m_a1)).status_code == 403
    assert practice.get(url(world.m_a1, f"{assessment.public_id}/")).status_code == 404
    assert client_for(world.a_intake).get(url(world.m_a1)).status_code == 403
    assert client_for(world.b_cm).get(url(world.m_a1)).status_code == 404


def test_social_needs_and_substance_use_are_offered_to_the_care_plan(world, client_for):
    assessment = services.assessment_record(
        actor=world.actor(world.a_cm),
        member=world.m_a1,
        values={"housing": "at_risk", "transportation_barrier": True, "substance_use_concern": True},
    )
    assert assessment.needs() == ["substance_use", "housing", "transportation"]
    client = client_for(world.a_cm)
    page = client.get(url(world.m_a1, f"{assessment.public_id}/")).content.decode()
    assert 'data-offer="housing"' in page and 'data-offer="food"' not in page
    for need in ("housing", "substance_use", "housing"):
        response = client.post(url(world.m_a1, f"{assessment.public_id}/add-to-care-plan/"), {"need": need})
        assert response.status_code == 302
    problems = {p.source_need: p for p in Problem.objects.filter(source_assessment=assessment)}
    assert set(problems) == {"housing", "substance_use"}  # the second housing click added nothing
    assert problems["housing"].domain == "social" and "at risk" in problems["housing"].description
    assert problems["substance_use"].substance_use and not problems["substance_use"].shareable
    with pytest.raises(ValidationError) as error:
        services.assessment_add_problem(actor=world.actor(world.a_cm), assessment=assessment, need="food")
    assert "need" in error.value.message_dict
    page = client.get(url(world.m_a1, f"{assessment.public_id}/")).content.decode()
    assert page.count('<span class="pill ok">On the care plan</span>') == 2
