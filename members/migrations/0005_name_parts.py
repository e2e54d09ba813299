"""The name dictionary for search (members.models.NamePart): the table, the triggers that keep it
whatever writes a member (ORM, roster COPY, raw SQL), its trigram index where pg_trgm exists, and
the names already there."""

from django.db import migrations, models

TRIGGERS = """
CREATE FUNCTION members_namepart_collect() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO members_namepart (value)
    SELECT DISTINCT lower(name) FROM (
        SELECT first_name AS name FROM changed UNION ALL SELECT last_name FROM changed
    ) names
    WHERE name <> ''
    ON CONFLICT (value) DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE TRIGGER members_namepart_on_insert AFTER INSERT ON members_member
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION members_namepart_collect();
CREATE TRIGGER members_namepart_on_update AFTER UPDATE ON members_member
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION members_namepart_collect();
INSERT INTO members_namepart (value)
SELECT DISTINCT lower(name) FROM (
    SELECT first_name AS name FROM members_member UNION ALL SELECT last_name FROM members_member
) names WHERE name <> '' ON CONFLICT (value) DO NOTHING;
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS members_namepart_on_insert ON members_member;
DROP TRIGGER IF EXISTS members_namepart_on_update ON members_member;
DROP FUNCTION IF EXISTS members_namepart_collect();
"""


def trigram_index(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone() is not None:
            cursor.execute(
                "CREATE INDEX IF NOT EXISTS namepart_value_trgm ON members_namepart USING gin (value gin_trgm_ops)"
            )


class Migration(migrations.Migration):
    dependencies = [("members", "0004_member_name_indexes")]

    operations = [
        migrations.CreateModel(
            name="NamePart",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("value", models.CharField(max_length=100, unique=True)),
            ],
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
        migrations.RunPython(trigram_index, migrations.RunPython.noop),
    ]
