"""Screenings in the product: entered on the page or through the API, scored, stored with the
needs they find; the needs worked to an outcome and onto the care plan; the yearly re-screen."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError

from caseloads.models import Task
from caseloads.services import enrollment_start
from core.models import Deadline, Notification
from sdoh import instruments, services
from sdoh.models import Need, Screening
from tests.conftest import SYSTEM
from tests.sdoh.test_instruments import FREQUENTLY, SCREENING_CORPUS, YES, ahc_answers, prapare_answers

EVICTION = "LA31994-9"  # "I have a place to live today, but I am worried about losing it"
SOMETIMES_TRUE = "LA6729-3"


def _form_data(answers: dict, screened_on: dt.date) -> dict:
    return {"screened_on": screened_on.isoformat(), **answers}


def test_a_practice_screens_its_patient_on_the_page_and_the_care_manager_hears(world, client_for):
    enrollment_start(actor=SYSTEM, member=world.m_a1, program="complex_care", acuity="high", care_manager=world.a_cm)
    client = client_for(world.p1_contact)
    url = f"/members/{world.m_a1.public_id}/screenings/new/"
    page = client.get(url).content.decode()
    assert 'data-question="71802-3"' in page and 'data-question="95618-5"' in page
    answers = ahc_answers(
        **{"71802-3": EVICTION, "88122-7": SOMETIMES_TRUE, "95618-5": FREQUENTLY, "95617-7": FREQUENTLY}
    )
    response = client.post(url, _form_data(answers, world.plan_a.local_date()), follow=True)
    body = response.content.decode()
    screening = Screening.objects.get()
    assert screening.positive and screening.safety_score == 12  # 5 + 5 + 1 + 1
    assert "Positive screen" in body and 'id="safety-score">12<' in body
    assert sorted(Need.objects.values_list("category", flat=True)) == [
        "food_insecurity",
        "housing_instability",
        "interpersonal_safety",
    ]
    (notice,) = Notification.objects.filter(kind="sdoh.needs")
    assert notice.recipient == world.a_cm and "Practice One" in notice.title
    assert client_for(world.p2_contact).get(f"/screenings/{screening.public_id}/").status_code == 404


def test_prapare_is_entered_on_its_own_page_and_its_risks_become_needs(world, client_for):
    """PRAPARE, the optional second instrument: chosen on the screening page, its questions shown,
    a risk answer scored into a need; a required item left out is named and nothing is saved."""
    client = client_for(world.a_cm)
    url = f"/members/{world.m_a1.public_id}/screenings/new/?instrument={instruments.PRAPARE}"
    page = client.get(url).content.decode()
    assert 'data-question="93033-9"' in page and 'data-question="93029-7"' in page  # PRAPARE's own
    assert 'data-question="88122-7"' not in page  # AHC's food question is not on it
    today = world.plan_a.local_date()
    incomplete = prapare_answers()
    del incomplete["93029-7"]
    refused = client.post(url, _form_data(incomplete, today))
    assert refused.status_code == 400 and not Screening.objects.exists()
    assert refused.context["form"]["93029-7"].errors  # the question left out, named on the page
    assert 'data-question="93029-7" aria-invalid="true"' in refused.content.decode()
    answers = prapare_answers(**{"93030_5": ["LA30133-5"]})  # transportation kept them from care
    response = client.post(url, _form_data(answers, today), follow=True)
    screening = Screening.objects.get()
    assert screening.instrument == instruments.PRAPARE and screening.positive
    assert list(Need.objects.values_list("category", flat=True)) == ["transportation_insecurity"]
    assert "Transportation insecurity" in response.content.decode()


def test_answers_that_do_not_fit_are_refused_whole_and_each_question_named(world, client_for):
    client = client_for(world.a_cm)
    answers = ahc_answers()
    del answers["93030-5"]
    response = client.post(
        f"/members/{world.m_a1.public_id}/screenings/new/", _form_data(answers, world.plan_a.local_date())
    )
    assert response.status_code == 400
    assert "transportation" in response.content.decode().lower()
    assert not Screening.objects.exists() and not Need.objects.exists()
    with pytest.raises(ValidationError) as refused:
        services.screening_record(
            actor=world.actor(world.a_cm),
            member=world.m_a1,
            instrument=instruments.AHC_HRSN,
            answers={"71802-3": "LA0"},
        )
    assert "71802-3" in refused.value.message_dict and "96779-4" in refused.value.message_dict


def test_a_rescreen_links_to_the_open_need_and_moves_the_yearly_deadline(world):
    actor = world.actor(world.a_cm)
    today = world.plan_a.local_date()
    first = services.screening_record(
        actor=actor,
        member=world.m_a1,
        instrument=instruments.AHC_HRSN,
        answers=ahc_answers(**{"93030-5": YES}),
        screened_on=today - dt.timedelta(days=30),
    )
    again = services.screening_record(
        actor=actor, member=world.m_a1, instrument=instruments.AHC_HRSN, answers=ahc_answers(**{"93030-5": YES})
    )
    (need,) = Need.objects.all()
    assert need.screening == first and not again.needs.exists()
    (pending,) = Deadline.objects.filter(kind="sdoh.rescreen", state="pending")
    assert pending.key == f"sdoh-rescreen:{world.m_a1.pk}:{today + services.RESCREEN_AFTER}"
    with pytest.raises(ValidationError):
        services.screening_record(
            actor=actor,
            member=world.m_a1,
            instrument=instruments.AHC_HRSN,
            answers=ahc_answers(),
            screened_on=today + dt.timedelta(days=1),
        )


def test_the_rescreen_puts_one_task_on_the_care_managers_worklist_unless_screened_since(world):
    enrollment_start(actor=SYSTEM, member=world.m_a1, program="complex_care", acuity="high", care_manager=world.a_cm)
    services.screening_record(
        actor=world.actor(world.a_cm), member=world.m_a1, instrument=instruments.AHC_HRSN, answers=ahc_answers()
    )
    last = Screening.objects.get().screened_on.isoformat()
    services.rescreen_due(member_id=world.m_a1.pk, last_screened_on=last)
    services.rescreen_due(member_id=world.m_a1.pk, last_screened_on=last)  # a deadline fired twice
    (task,) = Task.objects.filter(origin="social_needs")
    assert task.owner == world.a_cm and "Re-screen" in task.title
    services.rescreen_due(member_id=world.m_a1.pk, last_screened_on="2000-01-01")  # screened since then
    assert Task.objects.filter(origin="social_needs").count() == 1


def test_a_member_advocate_works_the_open_needs_to_an_outcome(world, client_for):
    from organizations.models import Role
    from tests.conftest import make_user

    advocate = make_user(world.plan_a, "a_advocate", Role.MEMBER_ADVOCATE)
    services.screening_record(
        actor=world.actor(world.a_cm),
        member=world.m_a1,
        instrument=instruments.AHC_HRSN,
        answers=ahc_answers(**{"71802-3": EVICTION, "93030-5": YES}),
    )
    client = client_for(advocate)
    page = client.get("/social-needs/").content.decode()
    assert page.count("data-need=") == 2 and world.m_a1.last_name in page
    housing = Need.objects.get(category="housing_instability")
    refused = client.post(f"/social-needs/{housing.public_id}/outcome/", {"status": "resolved"}, follow=True)
    assert "Say what happened" in refused.content.decode() and Need.objects.get(pk=housing.pk).status == "open"
    client.post(
        f"/social-needs/{housing.public_id}/outcome/",
        {"status": "resolved", "note": "Rental assistance approved; eviction stopped", "next": "worklist"},
    )
    housing.refresh_from_db()
    assert housing.status == "resolved" and housing.outcome_by == advocate and housing.outcome_at
    assert client.get("/social-needs/").content.decode().count("data-need=") == 1
    assert client_for(world.b_cm).get("/social-needs/").content.decode().count("data-need=") == 0
    assert client_for(world.p1_contact).post(f"/social-needs/{housing.public_id}/outcome/").status_code == 403


def test_a_need_becomes_a_social_problem_with_its_goal_on_the_care_plan(world, client_for):
    from careplans.models import Goal, Problem

    services.screening_record(
        actor=world.actor(world.a_cm),
        member=world.m_a1,
        instrument=instruments.AHC_HRSN,
        answers=ahc_answers(**{"93030-5": YES}),
    )
    need = Need.objects.get()
    client = client_for(world.a_cm)
    client.post(f"/social-needs/{need.public_id}/care-plan/")
    problem = Problem.objects.get()
    assert problem.domain == "social" and problem.description == need.suggested_problem and not problem.shareable
    assert Goal.objects.get(problem=problem).member_words == need.suggested_goal
    need.refresh_from_db()
    assert need.problem == problem
    page = client.post(f"/social-needs/{need.public_id}/care-plan/", follow=True).content.decode()
    assert "on the care plan already" in page and Problem.objects.count() == 1


def test_the_api_takes_answers_or_a_fhir_questionnaire_response_and_lists_in_scope(world, client_for):
    client = client_for(world.a_cm)
    created = client.post(
        "/api/v1/screenings/",
        {"member": str(world.m_a1.public_id), "instrument": "96777-8", "answers": ahc_answers(**{"93030-5": YES})},
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["positive"] and created.json()["needs"][0]["category"] == "transportation_insecurity"
    prapare = json.loads((SCREENING_CORPUS / "QuestionnaireResponse-PRAPARE-example.json").read_text())
    from_fhir = client.post(
        "/api/v1/screenings/",
        {"member": str(world.m_a2.public_id), "fhir": prapare},
        content_type="application/json",
    )
    assert from_fhir.status_code == 201, from_fhir.json()
    assert from_fhir.json()["instrument"] == "93025-5" and from_fhir.json()["source"] == "fhir"
    bad = client.post(
        "/api/v1/screenings/",
        {"member": str(world.m_a1.public_id), "instrument": "96777-8", "answers": {"71802-3": "LA0"}},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "71802-3" in bad.json() and Screening.objects.count() == 2
    listed = client_for(world.p1_contact).get("/api/v1/screenings/").json()["results"]
    assert [s["member"]["member_number"] for s in listed] == [world.m_a1.member_number]  # not P2's patient
    assert client_for(world.c_staff).get("/api/v1/screenings/").status_code == 403
    foreign = client_for(world.b_cm).post(
        "/api/v1/screenings/",
        {"member": str(world.m_a1.public_id), "instrument": "96777-8", "answers": ahc_answers()},
        content_type="application/json",
    )
    assert foreign.status_code == 404
