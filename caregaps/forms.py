from django import forms

from caregaps.models import Status
from core.forms import DateInput, MultipleFileField
from organizations.models import Organization

STATUS_FILTER = [("", "Any status"), ("open", "Still to close"), *Status.choices]


class ReportFilter(forms.Form):
    measure = forms.CharField(required=False, max_length=40)
    status = forms.ChoiceField(required=False, choices=STATUS_FILTER)
    due_before = forms.DateField(required=False, widget=DateInput, label="Due by")
    practice = forms.ModelChoiceField(
        required=False, queryset=Organization.objects.none(), to_field_name="public_id", empty_label="All practices"
    )
    provider = forms.CharField(required=False, max_length=200, label="Rendering provider (name or NPI)")
    new = forms.BooleanField(required=False, label="New since my last review")

    def __init__(self, *args, practices=None, **kwargs):
        """`practices`: those a plan may narrow to; None (a practice's own report) drops the field."""
        super().__init__(*args, **kwargs)
        if practices is None:
            del self.fields["practice"]
        else:
            self.fields["practice"].queryset = practices


class ScheduleForm(forms.Form):
    scheduled_for = forms.DateField(widget=DateInput, label="Visit on")
    note = forms.CharField(required=False, max_length=500)


class EvidenceForm(forms.Form):
    service_date = forms.DateField(widget=DateInput, label="Date of service")
    code = forms.CharField(max_length=40, label="Code (CPT, HCPCS, LOINC, ICD-10)")
    note = forms.CharField(required=False, max_length=1000)
    files = MultipleFileField(label="Documents", help_text="PDF, PNG or JPEG, up to 10 MB each; at most 5.")


class ExclusionForm(forms.Form):
    reason = forms.CharField(max_length=1000)


class AdjudicateForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("reject", "Reject")])
    reason = forms.CharField(required=False, max_length=1000)
