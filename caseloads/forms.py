from django import forms

from caseloads.models import Acuity, ContactLog, ContactMethod, Program, Task
from core.forms import DateInput
from organizations.models import Credential, Organization, User
from referrals.forms import DateTimeInput


class AcuityForm(forms.Form):
    acuity = forms.ChoiceField(choices=Acuity.choices)
    reason = forms.CharField(max_length=300, help_text="What changed: progress toward self-management, a setback …")


class EndForm(forms.Form):
    reason = forms.CharField(max_length=200, label="Why care management ends")


class CoManagementForm(forms.Form):
    partner = forms.ModelChoiceField(
        queryset=Organization.objects.none(),
        required=False,
        to_field_name="public_id",
        empty_label="Not co-managed",
        help_text="The behavioral-health partner that shares this member's care.",
    )
    contact = forms.CharField(max_length=200, required=False, help_text="Name and phone or email at the partner.")
    reason = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, partners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners


class DeliveryForm(forms.Form):
    delivery_date = forms.DateField(widget=DateInput)


class TaskForm(forms.Form):
    title = forms.CharField(max_length=200)
    owner = forms.ModelChoiceField(queryset=User.objects.none(), to_field_name="public_id")
    due_date = forms.DateField(widget=DateInput)
    origin = forms.ChoiceField(choices=Task.Origin.choices, initial=Task.Origin.CARE_PLAN)
    detail = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=4000)

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = staff


class ContactForm(forms.Form):
    made_at = forms.DateTimeField(widget=DateTimeInput, label="When")
    method = forms.ChoiceField(choices=ContactMethod.choices)
    with_whom = forms.CharField(max_length=200, label="With whom")
    outcome = forms.ChoiceField(choices=ContactLog.Outcome.choices)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=8000)
    shareable = forms.BooleanField(required=False, label="Shareable with the member's practice")


class ReassignForm(forms.Form):
    to = forms.ModelChoiceField(queryset=User.objects.none(), to_field_name="public_id", label="Move to")
    reason = forms.CharField(max_length=300)

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = staff


class CoverageForm(forms.Form):
    covering = forms.ModelChoiceField(queryset=User.objects.none(), to_field_name="public_id", label="Covered by")
    ends_on = forms.DateField(widget=DateInput, label="Last day of cover")
    reason = forms.CharField(max_length=200, initial="Planned leave")

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["covering"].queryset = staff


class DashboardFilter(forms.Form):
    team = forms.ChoiceField(required=False)
    program = forms.ChoiceField(choices=[("", "Any"), *Program.choices], required=False)
    credential = forms.ChoiceField(choices=[("", "Any"), *Credential.choices], required=False)

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "Any"), *((t, t) for t in teams)]
