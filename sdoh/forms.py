"""A screening form built from the instrument itself: one field per question, named by its LOINC
code, so what the form asks is what sdoh.instruments scores."""

from __future__ import annotations

from django import forms

from core.forms import DateInput
from organizations.models import Organization
from sdoh import instruments
from sdoh.models import CommunityService, Need, SocialReferral


class ScreeningForm(forms.Form):
    screened_on = forms.DateField(widget=DateInput, label="Screened on")

    def __init__(self, *args, instrument: instruments.Instrument, **kwargs):
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        for q in instrument.questions:
            choices = [(o.code, o.display) for o in q.options]
            if q.kind != instruments.Kind.CHOICE:
                field = forms.CharField(required=False, max_length=200)
            elif q.multiple:
                field = forms.MultipleChoiceField(required=False, choices=choices, widget=forms.CheckboxSelectMultiple)
            else:
                field = forms.ChoiceField(required=False, choices=choices, widget=forms.RadioSelect)
            field.label = q.text
            self.fields[q.code] = field  # required-ness is the instrument's rule, checked by the scorer

    def answers(self) -> dict[str, object]:
        """The answers given (unanswered questions left out, for the scorer to name)."""
        out = {}
        for q in self.instrument.questions:
            value = self.cleaned_data.get(q.code)
            if value:
                out[q.code] = value
        return out


class OutcomeForm(forms.Form):
    status = forms.ChoiceField(choices=[c for c in Need.Status.choices if c[0] != Need.Status.OPEN])
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ResourceSearch(forms.Form):
    need = forms.ChoiceField(
        required=False, choices=[("", "Any need"), *((c, n.title) for c, n in instruments.NEED_CATEGORIES.items())]
    )
    zip_code = forms.RegexField(
        required=False, regex=r"^\d{5}$", label="ZIP code", error_messages={"invalid": "5 digits"}
    )
    language = forms.RegexField(
        required=False, regex=r"^[A-Za-z]{2,3}$", label="Language", error_messages={"invalid": "a code like es"}
    )
    stale = forms.BooleanField(required=False, label="Not verified for a year")


class ResourceForm(forms.Form):
    """One directory entry, in the columns of a directory file (sdoh.services.resource_save holds
    the rules, the same as for a file's row)."""

    organization = forms.CharField(max_length=200, label="Organization")
    service = forms.CharField(max_length=200, label="Service", help_text="E.g. Emergency rental assistance.")
    categories = forms.MultipleChoiceField(
        choices=[(c, n.title) for c, n in instruments.NEED_CATEGORIES.items()],
        widget=forms.CheckboxSelectMultiple,
        label="Needs it meets",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=4000)
    eligibility = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=4000)
    languages = forms.CharField(required=False, max_length=200, help_text="ISO codes separated by ';', e.g. en; es.")
    hours = forms.CharField(required=False, max_length=200)
    zip_codes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), label="ZIP codes served", help_text="5 digits each, separated by ';'."
    )
    phone = forms.CharField(required=False, max_length=30)
    email = forms.CharField(required=False, max_length=254)
    website = forms.CharField(required=False, max_length=200)
    last_verified = forms.DateField(widget=DateInput, label="Last verified")
    is_active = forms.BooleanField(required=False, initial=True, label="Listed (shown in searches)")

    @classmethod
    def initial_for(cls, service: CommunityService) -> dict:
        return {
            "organization": service.organization_name,
            "service": service.name,
            "categories": service.categories,
            "description": service.description,
            "eligibility": service.eligibility,
            "languages": "; ".join(service.languages),
            "hours": service.hours,
            "zip_codes": "; ".join(service.zip_codes),
            "phone": service.phone,
            "email": service.email,
            "website": service.website,
            "last_verified": service.last_verified,
            "is_active": service.is_active,
        }

    def values(self) -> dict[str, str]:
        """The cleaned form as a directory file's row."""
        d = self.cleaned_data
        return {
            **{k: v for k, v in d.items() if isinstance(v, str)},
            "categories": ";".join(d["categories"]),
            "last_verified": d["last_verified"].isoformat(),
            "is_active": "on" if d["is_active"] else "",
        }


class ResourceImportForm(forms.Form):
    file = forms.FileField(help_text="CSV; see the sample for the columns.")


class SocialReferralForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), to_field_name="public_id")
    service = forms.ModelChoiceField(
        queryset=CommunityService.objects.none(), to_field_name="public_id", required=False, label="Service (directory)"
    )
    kind = forms.ChoiceField(choices=SocialReferral.Kind.choices, initial=SocialReferral.Kind.SERVICE)
    request_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=4000, label="What the member needs"
    )
    pickup = forms.CharField(required=False, max_length=300, label="Ride: from, to, when")
    share_with_practice = forms.BooleanField(required=False, label="Share updates with the member's practice")

    def __init__(self, *args, organizations, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        self.fields["service"].queryset = services


class SocialReferralAnswerForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (s, label)
            for s, label in SocialReferral.Status.choices
            if s in ("accepted", "rejected", "completed", "failed")
        ]
    )
    reason = forms.CharField(required=False, max_length=2000)


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=2000)
