import pytest
from django import forms
from django.template.loader import render_to_string

from core.http import filter_controls


class Filters(forms.Form):
    q = forms.CharField(required=False, label="Name")
    kind = forms.ChoiceField(choices=[("", "Any"), ("a", "Alpha"), ("b", "Beta")], required=False, label="Kind")


def test_filter_controls_echo_what_was_asked_escaped():
    form = Filters({"q": 'x"<y', "kind": "b"})
    html = render_to_string("includes/filter_fields.html", {"controls": filter_controls(form)})
    assert 'value="x&quot;&lt;y"' in html
    assert '<option value="b" selected>Beta</option>' in html and '<option value="a">Alpha</option>' in html


def test_filter_controls_name_the_bad_field():
    form = Filters({"kind": "zzz"})
    assert not form.is_valid()
    html = render_to_string("includes/filter_fields.html", {"controls": filter_controls(form)})
    assert '<span class="errorlist" role="alert">Kind: Select a valid choice.' in html


@pytest.mark.parametrize(
    "field",
    [
        forms.MultipleChoiceField(choices=[("a", "A")], required=False),
        forms.ChoiceField(choices=[("Group", [("a", "A")])], required=False),
        forms.SplitDateTimeField(required=False),
    ],
    ids=["several values", "option groups", "several inputs"],
)
def test_filter_controls_refuse_fields_they_cannot_write(field):
    form = type("F", (forms.Form,), {"f": field})({})
    with pytest.raises(TypeError, match=r"^f: "):
        filter_controls(form)
