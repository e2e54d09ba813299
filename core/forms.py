from django import forms

from core.models import AuditEvent


class DateInput(forms.DateInput):
    input_type = "date"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input; cleaned to a list (empty when none was chosen). What a file
    may be (type, size) is the service's to check (core.uploads), so forms and the API agree."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "PDF, PNG or JPEG, up to 10 MB each.")
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


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
