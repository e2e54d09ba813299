"""Indexes for the member list across plans (a practice's view) and for exact-name search.
Built and dropped CONCURRENTLY: the member table is large and in use."""

import django.db.models.functions.text
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("members", "0003_rosterimport_status_release_recorder"),
        ("organizations", "0002_partnership_contact_public_id"),
    ]

    operations = [
        RemoveIndexConcurrently(model_name="member", name="member_plan_tier_name"),
        AddIndexConcurrently(
            model_name="member",
            index=models.Index(fields=["last_name", "first_name", "id"], name="member_name"),
        ),
        AddIndexConcurrently(
            model_name="member",
            index=models.Index(
                django.db.models.functions.text.Lower("last_name"),
                django.db.models.functions.text.Lower("first_name"),
                models.F("id"),
                name="member_lower_name",
            ),
        ),
    ]
