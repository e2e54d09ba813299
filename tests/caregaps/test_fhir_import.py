"""FHIR gaps-in-care reports (Da Vinci DEQM): every report of ../shared/corpus/fhir/deqm-gaps/
imports; a lone resource that cannot stand alone is refused naming what is missing."""

from __future__ import annotations

import json

import pytest

from caregaps import services
from caregaps.models import CareGap
from members.roster import Rejected
from tests.conftest import make_member
from tests.corpus import corpus_dir

CORPUS = corpus_dir("fhir", "deqm-gaps", holding="*.json")
REPORTS = sorted(p.name for p in CORPUS.glob("*.json") if p.name.startswith(("Bundle-", "Parameters-")))
LONE = sorted(p.name for p in CORPUS.glob("*.json") if p.name.startswith(("DetectedIssue-", "MeasureReport-")))


@pytest.fixture
def corpus_members(catalog):
    """The corpus's patients, as members of plan A attributed to P1 (their MR numbers as member ids)."""
    world = catalog
    for number in ("999995992", "999996992", "999995993"):
        make_member(world.plan_a, practice=world.p1, member_number=number)
    return world


def _load(name: str):
    return json.loads((CORPUS / name).read_text())


def test_the_corpus_has_reports_and_lone_resources():
    assert len(REPORTS) >= 5 and len(LONE) >= 6


@pytest.mark.parametrize("name", REPORTS)
def test_every_corpus_report_imports_and_again_changes_nothing(corpus_members, name):
    world = corpus_members
    result = services.gaps_import_fhir(actor=world.actor(world.a_admin), document=_load(name))
    assert result.total_rows >= 1 and result.created == result.total_rows
    again = services.gaps_import_fhir(actor=world.actor(world.a_admin), document=_load(name))
    assert (again.created, again.updated, again.unchanged) == (0, 0, result.total_rows)


def test_a_closed_report_closes_the_gap_an_open_report_opened(corpus_members):
    world = corpus_members
    admin = world.actor(world.a_admin)
    services.gaps_import_fhir(actor=admin, document=_load("Bundle-single-gaps-open-indv-report01.json"))
    gaps = CareGap.objects.filter(member__member_number="999995992")
    assert sorted(gaps.values_list("measure__code", "status", "due_date__year")) == [
        ("CCS", "open", 2020),
        ("COL", "open", 2020),
    ]
    services.gaps_import_fhir(actor=admin, document=_load("Bundle-single-gaps-closed-indv-report02.json"))
    assert gaps.get(measure__code="COL").status == "closed"
    assert list(gaps.get(measure__code="COL").events.values_list("to_status", flat=True)) == ["open", "closed"]


@pytest.mark.parametrize("name", LONE)
def test_a_lone_resource_is_refused_naming_what_it_lacks(corpus_members, name):
    world = corpus_members
    with pytest.raises(Rejected) as rejected:
        services.gaps_import_fhir(actor=world.actor(world.a_admin), document=_load(name))
    fields = {e.field for e in rejected.value.result.errors}
    assert fields & {"DetectedIssue", f"DetectedIssue/{_load(name).get('id')}.patient"}
    assert not CareGap.objects.exists()


def test_an_unknown_patient_or_measure_is_refused_and_nothing_applied(catalog):
    world = catalog  # no member holds the corpus patients' ids
    with pytest.raises(Rejected) as rejected:
        services.gaps_import_fhir(
            actor=world.actor(world.a_admin), document=_load("Bundle-single-gaps-open-indv-report01.json")
        )
    assert all("is a member id of Plan A" in e.message for e in rejected.value.result.errors)
    assert len(rejected.value.result.errors) == 2
    with pytest.raises(Rejected):
        services.gaps_import_fhir(actor=world.actor(world.a_admin), document=["not", "a", "resource"])
    assert not CareGap.objects.exists()
