"""Typo-tolerant name search: pg_trgm and a GIN trigram index on Member.search_name.

Conditional on purpose: the embedded PostgreSQL used when no server exists (pgserver) ships
without pg_trgm. There the index is skipped and members.search falls back to prefix matching;
everywhere else (CI, Docker, production) the index exists.
"""

from django.db import migrations


def forward(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone() is None:
            return
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS member_search_trgm ON members_member USING gin (search_name gin_trgm_ops)"
        )


def backward(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS member_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("members", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
