from django import forms
from django.utils import timezone

from core.forms import DateInput
from organizations.models import ROLES_BY_KIND, Credential, Role, User


class ContactForm(forms.Form):
    name = forms.CharField(max_length=200)
    user = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        to_field_name="public_id",
        label="Staff account",
        help_text="Link the person's account so reminders reach their inbox.",
    )
    title = forms.CharField(max_length=100, required=False)
    phone = forms.CharField(max_length=32, required=False)
    email = forms.EmailField(required=False)
    is_primary = forms.BooleanField(required=False, label="Primary contact for this side")

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        if staff is not None:
            self.fields["user"].queryset = staff

    def clean(self):
        data = super().clean()
        if not data.get("phone") and not data.get("email"):
            raise forms.ValidationError("Give a phone number or an email address.")
        return data


class ReviewForm(forms.Form):
    reviewed_on = forms.DateField(widget=DateInput, initial=timezone.localdate)
    next_review_on = forms.DateField(
        widget=DateInput, required=False, help_text="At most a year later; defaults to one year."
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)


class StaffForm(forms.Form):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    email = forms.EmailField()
    role = forms.ChoiceField(choices=())
    credential = forms.ChoiceField(choices=Credential.choices, required=False)
    title = forms.CharField(max_length=100, required=False)
    team = forms.CharField(max_length=60, required=False, help_text="The care team a supervisor filters by.")
    phone = forms.CharField(max_length=32, required=False)
    languages = forms.CharField(required=False, help_text="Comma-separated, e.g. English, Spanish.")
    caseload_capacity = forms.IntegerField(min_value=0, max_value=500, initial=0)
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args, organization, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        roles = ROLES_BY_KIND[organization.kind]
        self.fields["role"].choices = [(r.value, r.label) for r in Role if r.value in roles]
        if editing:
            del self.fields["username"]
        else:
            del self.fields["is_active"]

    def clean_languages(self):
        return [part.strip() for part in self.cleaned_data["languages"].split(",") if part.strip()]

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That username is taken.")
        return username
