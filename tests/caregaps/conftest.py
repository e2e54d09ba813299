"""Care-gap fixtures: both plans' measure catalogs, and gap files for plan A's administrator."""

from __future__ import annotations

import io

import pytest

from caregaps import services


@pytest.fixture
def catalog(world):
    services.measure_catalog_seed(plan=world.plan_a)
    services.measure_catalog_seed(plan=world.plan_b)
    return world


def gap_file(*rows: str, header: str = "member_id,measure,description,due_date,status") -> io.BytesIO:
    return io.BytesIO(("\n".join([header, *rows]) + "\n").encode())


def import_gaps(world, *rows: str, **kw):
    return services.gaps_import_csv(actor=world.actor(world.a_admin), stream=gap_file(*rows, **kw))
