from django import forms

from caregaps.models import Status
from core.forms import DateInput

STATUS_FILTER = [("", "Any status"), ("open", "Still to close"), *Status.choices]


class ReportFilter(forms.Form):
    measure = forms.CharField(required=False, max_length=40)
    status = forms.ChoiceField(required=False, choices=STATUS_FILTER)
    due_before = forms.DateField(required=False, widget=DateInput, label="Due by")


class ScheduleForm(forms.Form):
    scheduled_for = forms.DateField(widget=DateInput, label="Visit on")
    note = forms.CharField(required=False, max_length=500)


class EvidenceForm(forms.Form):
    service_date = forms.DateField(widget=DateInput, label="Date of service")
    code = forms.CharField(max_length=40, label="Code (CPT, HCPCS, LOINC, ICD-10)")
    note = forms.CharField(required=False, max_length=1000)


class ExclusionForm(forms.Form):
    reason = forms.CharField(max_length=1000)


class AdjudicateForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("reject", "Reject")])
    reason = forms.CharField(required=False, max_length=1000)
