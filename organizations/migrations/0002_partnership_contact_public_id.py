"""Points of contact get a public UUID for their URLs (DESIGN.md: public ids in URLs are UUIDs).
Existing rows get theirs in between adding the column and making it unique."""

import uuid

from django.db import migrations, models


def fill(apps, schema_editor):
    PartnershipContact = apps.get_model("organizations", "PartnershipContact")
    for contact in PartnershipContact.objects.filter(public_id__isnull=True):
        contact.public_id = uuid.uuid4()
        contact.save(update_fields=["public_id"])


class Migration(migrations.Migration):
    dependencies = [("organizations", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="partnershipcontact", name="public_id", field=models.UUIDField(editable=False, null=True)
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="partnershipcontact",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
