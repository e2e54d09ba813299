"""Drop the index Django gives the member's plan foreign key: the member id's unique index and
the per-plan name and birth-date indexes all lead with plan_id, so it served no query and cost
every member write (about 0.9 s of a 100,000-member roster import). Only the index goes:
AlterField alone would also drop and re-add the foreign key, checking every member again under
lock."""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "members_member_plan_id_5cd18dd9"


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY: members stay writable meanwhile

    dependencies = [
        ("members", "0002_database_rules"),
        ("organizations", "0010_social_referral_permissions"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}",
                    reverse_sql=f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON members_member (plan_id)",
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="member",
                    name="plan",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="members",
                        to="organizations.organization",
                    ),
                )
            ],
        )
    ]
