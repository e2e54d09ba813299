"""Uploaded documents (referral attachments, answers to record requests): what is accepted and
how a file is fingerprinted. Files are stored outside any web root under a name that says nothing
about their contents, and served only by views that check access first."""

from __future__ import annotations

import hashlib

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

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
