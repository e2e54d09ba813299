import logging
import re
import time
import uuid

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, resolve_url
from django.utils.http import urlencode

from core import context

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Give every request an id (or keep a well-formed X-Request-ID from a proxy): logs, audit rows
    and the response header all carry it, so one request can be followed end to end."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = context.request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            context.request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.request_id.get() or "-"
        return True


class IdleSessionTimeoutMiddleware:
    """Sign a person out after SESSION_IDLE_TIMEOUT seconds without activity.

    The last-seen time is written at most once a minute, so ordinary browsing does not write the
    session on every request. Background polling (requests sent with `X-Background: 1`, such as
    the inbox badge) is not activity: a screen left open must still time out.
    """

    WRITE_EVERY = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get("last_seen", now)
            if now - last_seen > settings.SESSION_IDLE_TIMEOUT:
                logout(request)
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": "Your session expired; sign in again."}, status=401)
                if request.path.startswith("/fhir/"):
                    from interop.fhir import FHIR_JSON, operation_outcome

                    body = operation_outcome("login", "Your session expired; sign in again.")
                    return JsonResponse(body, status=401, content_type=FHIR_JSON)
                login_url = resolve_url(settings.LOGIN_URL)
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = f"{login_url}?expired=1"
                    return response
                query = urlencode({"expired": 1, "next": request.get_full_path()})
                return redirect(f"{login_url}?{query}")
            if (
                request.headers.get("X-Background") != "1" and now - last_seen >= self.WRITE_EVERY
            ) or "last_seen" not in request.session:
                request.session["last_seen"] = now
        return self.get_response(request)
