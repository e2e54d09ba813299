from django import forms

from caseloads.models import Acuity, Program
from core.forms import MultipleFileField
from organizations.models import Credential, Organization, User
from referrals.models import ContactMethod, OutreachAttempt, Priority, Source, Status, Urgency


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"


class ReferralForm(forms.Form):
    source = forms.ChoiceField(choices=Source.choices, initial=Source.PRACTICE)
    referring_practice = forms.ModelChoiceField(
        queryset=Organization.objects.none(),
        required=False,
        to_field_name="public_id",
        help_text="For a practice's referral received by phone or fax.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    diagnoses = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=4000)
    recent_utilization = forms.CharField(
        label="Recent use of care",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=4000,
        help_text="Emergency visits, admissions, missed appointments.",
    )
    clinical_context = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=8000)
    urgency = forms.ChoiceField(choices=Urgency.choices, initial=Urgency.ROUTINE)
    contact_method = forms.ChoiceField(
        choices=[("", "—"), *ContactMethod.choices], required=False, label="Best way to reach the patient"
    )
    contact_time = forms.CharField(max_length=100, required=False, label="Best time to reach the patient")
    attachments = MultipleFileField()

    def __init__(self, *args, practice_user: bool, practices=None, **kwargs):
        super().__init__(*args, **kwargs)
        if practice_user:
            del self.fields["source"]
            del self.fields["referring_practice"]
        else:
            self.fields["source"].choices = [c for c in Source.choices]
            self.fields["referring_practice"].queryset = practices


class TriageForm(forms.Form):
    priority = forms.TypedChoiceField(choices=Priority.choices, coerce=int)
    program = forms.ChoiceField(choices=Program.choices)
    skill_needed = forms.ChoiceField(
        choices=[
            (Credential.RN.value, "RN"),
            (Credential.LCSW.value, "LCSW"),
            (Credential.CHW.value, "Community health worker"),
        ]
    )
    reason = forms.CharField(required=False, max_length=2000, label="Note for the referrer")
    internal_note = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}), label="Plan-internal note"
    )


class MoveForm(forms.Form):
    to = forms.ChoiceField(choices=Status.choices)
    reason = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Reason (the referrer sees it)"
    )
    internal_note = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}), label="Plan-internal note"
    )
    acuity = forms.ChoiceField(choices=[("", "—"), *Acuity.choices], required=False)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), to_field_name="public_id")
    reason = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        if staff is not None:
            self.fields["assignee"].queryset = staff


class OutreachForm(forms.Form):
    method = forms.ChoiceField(choices=ContactMethod.choices)
    outcome = forms.ChoiceField(choices=OutreachAttempt.Outcome.choices)
    made_at = forms.DateTimeField(widget=DateTimeInput, required=False, label="When (default: now)")
    note = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}), label="Plan-internal note"
    )


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=[("assign", "Assign"), ("claim", "Claim")])
    referrals = forms.CharField(widget=forms.MultipleHiddenInput)
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), to_field_name="public_id", required=False)

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        if staff is not None:
            self.fields["assignee"].queryset = staff


class ListUploadForm(forms.Form):
    file = forms.FileField(help_text="CSV with the columns member_id and score (0 to 1), and optionally reason.")
    reason = forms.CharField(required=False, max_length=500, help_text="Used where a row gives no reason.")


class AttachmentForm(forms.Form):
    file = forms.FileField(help_text="PDF, PNG or JPEG, up to 10 MB.")
