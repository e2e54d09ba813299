from django import forms

from careplans.models import Goal, Intervention, Problem
from careplans.services import GOAL_FIELDS, INTERVENTION_FIELDS, PROBLEM_FIELDS


class DateInput(forms.DateInput):
    input_type = "date"


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
        queryset=Problem.objects.none(), required=False, to_field_name="public_id"
    )

    class Meta:
        model = Intervention
        fields = INTERVENTION_FIELDS
        widgets = {"description": forms.Textarea(attrs={"rows": 2}), "due_date": DateInput}

    def __init__(self, *args, care_plan=None, actor=None, **kwargs):
        from organizations.models import Organization

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
