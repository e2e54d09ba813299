"""Uploaded documents (referral attachments, answers to record requests): what is accepted and
how a file is fingerprinted. Files are stored outside any web root under a name that says nothing
about their contents, and served only by views that check access first."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse

from core import audit

MAX_BYTES = 10 * 1024 * 1024
# Recognized by their first bytes, never by the name or the browser's claimed type.
TYPES = {b"%PDF-": "application/pdf", b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def check(upload: UploadedFile, *, field: str) -> str:
    """The file's content type if it is a PDF, PNG or JPEG of at most 10 MB; else an error on `field`."""
    if upload.size > MAX_BYTES:
        raise ValidationError({field: f"{upload.name} is larger than 10 MB"})
    head = upload.read(16)
    upload.seek(0)
    for magic, content_type in TYPES.items():
        if head.startswith(magic):
            return content_type
    raise ValidationError({field: f"{upload.name} is not a PDF, PNG or JPEG file"})


def sha256(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def serve(actor: Any, item: Any, *, object_type: str, plan_id: int, member_id: int) -> FileResponse:
    """Send a stored document to someone the caller has already checked may read it: the read is
    audited, the file is a download (never rendered inline), and nothing caches it."""
    audit.record(
        actor=actor,
        action=audit.Action.READ,
        object_type=object_type,
        object_id=item.public_id,
        plan_id=plan_id,
        member_id=member_id,
        summary=item.original_name,
    )
    response = FileResponse(
        item.file.open("rb"), as_attachment=True, filename=item.original_name, content_type=item.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
