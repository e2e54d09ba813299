from django import forms
from django.utils import timezone

from core.forms import DateInput
from members.models import CareTeamMember, Member, ReleaseOfInformation
from members.services import MEMBER_EDITABLE
from organizations.models import Organization


class MemberEditForm(forms.ModelForm):
    class Meta:
        model = Member
        fields = MEMBER_EDITABLE


class CareTeamForm(forms.Form):
    role = forms.ChoiceField(choices=CareTeamMember.Role.choices)
    name = forms.CharField(max_length=200)
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), required=False, to_field_name="public_id"
    )
    specialty = forms.CharField(max_length=100, required=False)
    phone = forms.CharField(max_length=32, required=False)
    email = forms.EmailField(required=False)
    is_point_of_contact = forms.BooleanField(required=False, label="Designated point of contact")
    start_date = forms.DateField(widget=DateInput, initial=timezone.localdate)

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:
            self.fields["organization"].queryset = organizations


class CareTeamEndForm(forms.Form):
    end_date = forms.DateField(widget=DateInput, initial=timezone.localdate)
    reason = forms.CharField(max_length=200)


class ReleaseForm(forms.Form):
    recipient_kind = forms.ChoiceField(choices=ReleaseOfInformation.RecipientKind.choices, label="Recipient type")
    recipient_organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(),
        required=False,
        to_field_name="public_id",
        help_text="Choose the organization when the recipient is one CareCoord knows.",
    )
    recipient_name = forms.CharField(max_length=200, help_text="As named on the signed form.")
    purposes = forms.MultipleChoiceField(
        choices=ReleaseOfInformation.Purpose.choices, widget=forms.CheckboxSelectMultiple
    )
    includes_substance_use = forms.BooleanField(
        required=False, label="Covers substance-use disorder records (42 CFR Part 2)"
    )
    signed_by = forms.ChoiceField(choices=ReleaseOfInformation.Signer.choices)
    signer_name = forms.CharField(max_length=200)
    signed_on = forms.DateField(widget=DateInput)
    effective_from = forms.DateField(widget=DateInput, required=False, help_text="Defaults to the signing date.")
    expires_on = forms.DateField(widget=DateInput, required=False)

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:
            self.fields["recipient_organization"].queryset = organizations


class RevokeForm(forms.Form):
    reason = forms.CharField(max_length=200)


class RosterUploadForm(forms.Form):
    file = forms.FileField(help_text="CSV, UTF-8, with a header row. See the sample file for the columns.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(".csv"):
            raise forms.ValidationError("Upload a .csv file.")
        return upload
