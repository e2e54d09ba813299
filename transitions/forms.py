from django import forms

from caseloads.models import ContactLog, ContactMethod
from core.forms import DateInput
from referrals.forms import DateTimeInput
from transitions.models import Appointment


class OutreachForm(forms.Form):
    made_at = forms.DateTimeField(widget=DateTimeInput, label="When")
    method = forms.ChoiceField(choices=ContactMethod.choices)
    outcome = forms.ChoiceField(choices=ContactLog.Outcome.choices)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=8000)


class DischargeInfoForm(forms.Form):
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=20000,
        label="Discharge information",
        help_text="Diagnoses, medication changes, instructions and pending results, as received from the hospital.",
    )


class MedRecForm(forms.Form):
    done_on = forms.DateField(widget=DateInput, label="Reconciled on")
    by_whom = forms.CharField(max_length=200, label="By", help_text="Prescriber, pharmacist or nurse.")
    note = forms.CharField(max_length=200, required=False)


class AppointmentForm(forms.Form):
    scheduled_for = forms.DateTimeField(widget=DateTimeInput, label="Visit at")
    provider_name = forms.CharField(max_length=200, label="With")
    is_mental_health_provider = forms.BooleanField(required=False, label="Mental-health provider")
    location = forms.CharField(max_length=200, required=False)
    transport_needed = forms.BooleanField(required=False, label="Needs transportation")
    rescheduled_from = forms.UUIDField(required=False, widget=forms.HiddenInput)


class OutcomeForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(s, label) for s, label in Appointment.Status.choices if s != Appointment.Status.SCHEDULED]
    )
    note = forms.CharField(max_length=300, required=False)


class TransportForm(forms.Form):
    arranged = forms.CharField(max_length=300, label="Arranged", help_text="Vendor, pick-up time, confirmation.")


class WorklistFilter(forms.Form):
    mine = forms.BooleanField(required=False, label="My members only")
    practice = forms.UUIDField(required=False)
    overdue = forms.BooleanField(required=False, label="Overdue only")


class RatesFilter(forms.Form):
    start = forms.DateField(widget=DateInput, label="Discharged from")
    end = forms.DateField(widget=DateInput, label="to")
    practice = forms.UUIDField(required=False)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "must be on or after the start date.")
        return data
