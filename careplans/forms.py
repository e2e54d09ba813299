from django import forms

from careplans import phq9
from careplans.models import Assessment, CoordinationNotice, Goal, Intervention, Problem
from careplans.services import ASSESSMENT_FIELDS, GOAL_FIELDS, INTERVENTION_FIELDS, PROBLEM_FIELDS
from core.forms import DateInput, MultipleFileField
from organizations.models import Organization


class ProblemForm(forms.ModelForm):
    class Meta:
        model = Problem
        fields = PROBLEM_FIELDS
        widgets = {"description": forms.TextInput(attrs={"size": 60}), "root_causes": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"shareable": "Shared items reach the member's practice under a release of information."}

    def __init__(self, *args, care_plan=None, actor=None, **kwargs):
        super().__init__(*args, **kwargs)


class GoalForm(forms.ModelForm):
    problem = forms.ModelChoiceField(queryset=Problem.objects.none(), required=False, to_field_name="public_id")

    class Meta:
        model = Goal
        fields = GOAL_FIELDS
        widgets = {
            "member_words": forms.Textarea(attrs={"rows": 2}),
            "progress_note": forms.Textarea(attrs={"rows": 2}),
            "agreed_on": DateInput,
            "target_date": DateInput,
        }
        help_texts = {
            "member_words": "Write it as the member said it, e.g. “I want to walk my granddaughter to school.”"
        }

    def __init__(self, *args, care_plan=None, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        if care_plan is not None:
            self.fields["problem"].queryset = Problem.objects.visible_to(actor).filter(care_plan=care_plan)


class GoalProgressForm(forms.ModelForm):
    class Meta:
        model = Goal
        fields = ("progress", "progress_note")
        widgets = {"progress_note": forms.TextInput(attrs={"size": 40})}


class InterventionForm(forms.ModelForm):
    goal = forms.ModelChoiceField(queryset=Goal.objects.none(), required=False, to_field_name="public_id")
    owner_organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), required=False, to_field_name="public_id"
    )

    class Meta:
        model = Intervention
        fields = INTERVENTION_FIELDS
        widgets = {"description": forms.Textarea(attrs={"rows": 2}), "due_date": DateInput}

    def __init__(self, *args, care_plan=None, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        if care_plan is not None:
            self.fields["goal"].queryset = Goal.objects.visible_to(actor).filter(care_plan=care_plan)
            self.fields["owner_organization"].queryset = (
                Organization.objects.visible_to(actor).exclude(kind=Organization.Kind.PLAN).order_by("name")
            )


class PracticeInterventionForm(forms.Form):
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)
    goal = forms.ModelChoiceField(queryset=Goal.objects.none(), required=False, to_field_name="public_id")
    due_date = forms.DateField(widget=DateInput, required=False)

    def __init__(self, *args, care_plan=None, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        if care_plan is not None:
            self.fields["goal"].queryset = Goal.objects.visible_to(actor).filter(care_plan=care_plan)


class NotesForm(forms.Form):
    barriers = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=8000)
    strengths = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=8000)


class AssessmentForm(forms.ModelForm):
    """The assessment's sections, plus the nine PHQ-9 items (optional as a whole: all or none)."""

    class Meta:
        model = Assessment
        fields = ASSESSMENT_FIELDS
        widgets = {
            "assessed_on": DateInput,
            "chronic_conditions": forms.Textarea(attrs={"rows": 2}),
            "physical_notes": forms.Textarea(attrs={"rows": 3}),
            "behavioral_notes": forms.Textarea(attrs={"rows": 3}),
            "social_notes": forms.Textarea(attrs={"rows": 3}),
        }

    SECTIONS = (
        (
            "Physical health",
            ("self_rated_health", "chronic_conditions", "ed_visits_12m", "admissions_12m", "physical_notes"),
        ),
        ("Behavioral health", ("substance_use_concern", "behavioral_notes")),
        ("Social needs", ("housing", "food_insecurity", "transportation_barrier", "social_isolation", "social_notes")),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assessed_on"].required = True
        for number, (code, text) in enumerate(phq9.ITEMS, start=1):
            self.fields[phq9.field_name(number)] = forms.TypedChoiceField(
                label=f"{number}. {text}",
                choices=[("", "—"), *phq9.ANSWERS],
                coerce=int,
                required=False,
                help_text=f"LOINC {code}",
            )

    def section(self, names):
        return [self[name] for name in names]

    def sections(self):
        return [(title, self.section(names)) for title, names in self.SECTIONS]

    def phq9_fields(self):
        return [self[phq9.field_name(n)] for n in range(1, len(phq9.ITEMS) + 1)]

    def clean(self):
        data = super().clean()
        answers = [data.get(phq9.field_name(n)) for n in range(1, len(phq9.ITEMS) + 1)]
        given = [a for a in answers if a not in (None, "")]
        if given and len(given) != len(answers):
            for number, answer in enumerate(answers, start=1):
                if answer in (None, ""):
                    self.add_error(
                        phq9.field_name(number), f"Answer item {number} too, or leave the whole PHQ-9 empty."
                    )
        data["phq9_answers"] = answers if given else None
        return data


class RecordRequestForm(forms.Form):
    practice = forms.ModelChoiceField(queryset=Organization.objects.none(), to_field_name="public_id")
    what = forms.CharField(
        label="Records wanted",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=4000,
        help_text="E.g. last two office notes, current medication list, A1c results this year.",
    )
    why = forms.CharField(label="Why they are needed", widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)
    due_on = forms.DateField(label="Needed by", widget=DateInput)

    def __init__(self, *args, practices=None, **kwargs):
        super().__init__(*args, **kwargs)
        if practices is not None:
            self.fields["practice"].queryset = practices


class AnswerForm(forms.Form):
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=8000)
    files = MultipleFileField()


class CoordinationNoticeForm(forms.ModelForm):
    class Meta:
        model = CoordinationNotice
        fields = ("notified_on", "method", "recipient", "note")
        widgets = {"notified_on": DateInput}
