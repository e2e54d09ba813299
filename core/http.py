"""Small helpers every HTML view uses: sign-in with an organization, htmx-aware rendering."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from core.pagination import BadCursor
from organizations.access import get_actor


def staff_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, with the actor resolved once and handed to the view as `request.actor`. Pages
    show times, and forms read them, in the person's organization's time zone (a Chicago care
    manager who types 14:00 means 14:00 in Chicago)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        request.actor = get_actor(request)
        organization = request.actor.organization
        if organization is None:
            return view(request, *args, **kwargs)
        with timezone.override(organization.tz):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()  # a TemplateResponse renders inside the zone too
            return response

    return wrapper


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], *, partial: str | None = None, status: int = 200
) -> HttpResponse:
    """The whole page, or only its named partial for an htmx request: one view, one permission
    check, two renderings (STYLE.md §6)."""
    name = f"{template}#{partial}" if partial and getattr(request, "htmx", False) else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


@dataclass(frozen=True)
class FilterControl:
    """One field of a list page's filter form, ready to write out (includes/filter_fields.html)."""

    name: str
    id: str
    label: str
    value: str
    options: list[tuple[str, str, bool]]  # (value, label, selected); empty for a text box
    errors: list[str]


def filter_controls(form: forms.Form) -> list[FilterControl]:
    """A filter form's fields with the selected option worked out here, once: through the widget
    templates, or a template filter per option, the form cost a list page more than its rows.
    A model choice field's options are one query."""
    controls = []
    for field in form:
        widget = field.field.widget
        if getattr(widget, "allow_multiple_selected", False) or isinstance(widget, forms.MultiWidget):
            raise TypeError(f"{field.name}: filter_fields.html writes one value per field")
        value = field.value()
        current = "" if value is None else str(value)
        # Iterated, never len() or bool(): on a model choice field each of those is a query.
        choices = getattr(field.field, "choices", None)
        options = []
        for option, label in choices if choices is not None else ():
            if isinstance(label, (list, tuple)):
                raise TypeError(f"{field.name}: filter_fields.html writes no option groups")
            options.append((str(option), str(label), str(option) == current))
        controls.append(
            FilterControl(
                name=field.html_name,
                id=field.auto_id,
                label=str(field.label),
                value=current,
                options=options,
                errors=list(field.errors),
            )
        )
    return controls


def page_args(request: HttpRequest, default_size: int = 50) -> tuple[str | None, int]:
    raw = request.GET.get("size", "")
    size = int(raw) if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 200 else default_size
    return request.GET.get("cursor") or None, size


def bad_cursor_response(request: HttpRequest, exc: BadCursor) -> HttpResponse:
    return render(request, "error.html", {"title": "Page not available", "message": str(exc)}, status=400)


def message_errors(request: HttpRequest, error: ValidationError) -> None:
    """A service's ValidationError as flash messages, each naming its field (for a form posted
    from a page that redirects back)."""
    if hasattr(error, "error_dict"):
        for field, problems in error.message_dict.items():
            messages.error(request, f"{field.replace('_', ' ').capitalize()}: {' '.join(problems)}")
    else:
        messages.error(request, " ".join(error.messages))


def submit_form(
    request: HttpRequest,
    form: Any,
    apply: Callable[[dict[str, Any]], Any],
    *,
    done: str | Callable[[Any], str],
    report: Callable[[HttpRequest, ValidationError], None] = message_errors,
) -> bool:
    """A form posted from a page that redirects back: check it, hand its data to the service,
    and flash what happened (errors name their field; `done` may word the success from what
    `apply` returned). True if the service took it."""
    if not form.is_valid():
        report(request, ValidationError(form.errors))
        return False
    try:
        result = apply(form.cleaned_data)
    except ValidationError as error:
        report(request, error)
        return False
    messages.success(request, done(result) if callable(done) else done)
    return True


def apply_service_errors(form: Any, error: ValidationError) -> None:
    """Show a service's ValidationError on the form, on the field it names where there is one."""
    if hasattr(error, "error_dict"):
        for field, field_messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_messages)
    else:
        form.add_error(None, error.messages)


def action_view(
    *,
    access: Callable[[Any, Any], Any],
    form_class: Any,
    apply: Callable[[Any, Any, dict[str, Any]], Any],
    done: str,
    back: Callable[[HttpRequest, Any], HttpResponse],
    require: str | None = None,
) -> Callable[..., HttpResponse]:
    """A POST-only view for one action on one object: the object from the actor's scope
    (`access(actor, id)`: 404 outside it), the permission (403), the form handed to the service
    (`apply(actor, obj, data)`), the result flashed, and `back(request, obj)`."""
    from django.views.decorators.http import require_POST

    @require_POST
    @staff_view
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        actor = request.actor
        (object_id,) = kwargs.values()
        obj = access(actor, object_id)
        if require:
            actor.require(require)
        form = form_class(request.POST, request.FILES)
        submit_form(request, form, lambda data: apply(actor, obj, data), done=done)
        return back(request, obj)

    return view
