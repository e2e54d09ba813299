from django import forms

from core.models import AuditEvent


class DateInput(forms.DateInput):
    input_type = "date"


class AuditFilterForm(forms.Form):
    username = forms.CharField(required=False, label="Who (username)")
    action = forms.ChoiceField(choices=[("", "Any action"), *AuditEvent.Action.choices], required=False)
    object_type = forms.ChoiceField(
        required=False,
        label="What",
        choices=[
            ("", "Anything"),
            ("member", "Member"),
            ("roster_import", "Roster import"),
            ("partnership", "Partnership"),
            ("staff", "Staff"),
            ("session", "Sign-in"),
        ],
    )
    member = forms.CharField(required=False, label="Member id")
    since = forms.DateField(required=False, widget=DateInput)
    until = forms.DateField(required=False, widget=DateInput)

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", "must not be before 'since'")
        return data
