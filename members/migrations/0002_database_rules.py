"""Rules and helpers the database itself keeps for member data.

1. No overlapping periods. A member's eligibility spans never overlap, nor do their
   attributions (one practice at a time). A statement trigger checks the changed rows, set-based,
   through the (member, start_date) unique index. It first takes a per-plan advisory lock
   (`member-periods:<plan id>`, the same lock a roster import holds), so of two transactions
   writing periods for one plan, the second checks after the first commits and sees its rows
   (READ COMMITTED: each statement of the trigger takes a fresh snapshot). A GiST exclusion
   constraint says the same in one line, but maintaining its index cost nine of the ten seconds of
   inserting 100,000 spans into a million-member table (bench/); this costs well under one.
2. The name dictionary (NamePart) stays complete whatever writes a member: statement triggers
   add each new first and last name.
3. Where the server has pg_trgm (everywhere but the embedded demo fallback): the extension, and a
   trigram index on the name dictionary for typo-tolerant search (members.search).
"""

from django.db import migrations

NO_OVERLAP = """
CREATE FUNCTION members_no_overlap() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    plan bigint;
    clash record;
BEGIN
    FOR plan IN SELECT DISTINCT plan_id FROM changed ORDER BY 1 LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended('member-periods:' || plan, 0));
    END LOOP;
    IF TG_TABLE_NAME = 'members_eligibilityspan' THEN
        SELECT c.member_id, c.start_date AS new_start, o.start_date AS old_start INTO clash
        FROM changed c JOIN members_eligibilityspan o ON o.member_id = c.member_id AND o.id <> c.id
        WHERE o.start_date <= COALESCE(c.end_date, 'infinity') AND c.start_date <= COALESCE(o.end_date, 'infinity')
        LIMIT 1;
    ELSE
        SELECT c.member_id, c.start_date AS new_start, o.start_date AS old_start INTO clash
        FROM changed c JOIN members_attribution o ON o.member_id = c.member_id AND o.id <> c.id
        WHERE o.start_date <= COALESCE(c.end_date, 'infinity') AND c.start_date <= COALESCE(o.end_date, 'infinity')
        LIMIT 1;
    END IF;
    IF clash.member_id IS NOT NULL THEN
        RAISE EXCEPTION '% of member % starting % overlaps the one starting %',
            TG_TABLE_NAME, clash.member_id, clash.new_start, clash.old_start
            USING ERRCODE = 'exclusion_violation';
    END IF;
    RETURN NULL;
END;
$$;
"""

NAME_PARTS = """
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
"""

TRIGGERS = [
    ("members_eligibilityspan", "INSERT", "members_no_overlap"),
    ("members_eligibilityspan", "UPDATE", "members_no_overlap"),
    ("members_attribution", "INSERT", "members_no_overlap"),
    ("members_attribution", "UPDATE", "members_no_overlap"),
    ("members_member", "INSERT", "members_namepart_collect"),
    ("members_member", "UPDATE", "members_namepart_collect"),
]


def _trigger_name(table: str, event: str, function: str) -> str:
    return f"{function}_{table.removeprefix('members_')}_{event.lower()}"


FORWARD = (
    NO_OVERLAP
    + NAME_PARTS
    + "".join(
        # Transition tables allow one event per trigger, hence one trigger per table and event.
        f"CREATE TRIGGER {_trigger_name(t, e, f)} AFTER {e} ON {t} "
        f"REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION {f}();\n"
        for t, e, f in TRIGGERS
    )
)
BACKWARD = "".join(f"DROP TRIGGER IF EXISTS {_trigger_name(t, e, f)} ON {t};\n" for t, e, f in TRIGGERS) + (
    "DROP FUNCTION IF EXISTS members_no_overlap(); DROP FUNCTION IF EXISTS members_namepart_collect();"
)


def trigram(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone() is None:
            return
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS namepart_value_trgm ON members_namepart USING gin (value gin_trgm_ops)"
        )


def drop_trigram(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS namepart_value_trgm")


class Migration(migrations.Migration):
    dependencies = [("members", "0001_initial")]

    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RunPython(trigram, drop_trigram),
    ]
