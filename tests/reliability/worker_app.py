"""The project's Celery app plus probe deadline kinds, for the reliability tests' worker.

The probes are real deadline handlers run by the real machinery (sweep, broker, worker, row
locks); they only make the moment of work observable: each records its start in Redis and its
effect as a database row, so a test can kill a worker mid-task and count effects afterwards.
"""

import os
import time

import django
import redis

from carecoord.celery import app

django.setup()

from core import deadlines  # noqa: E402
from core.models import Deadline, Notification  # noqa: E402

__all__ = ["app"]


def _redis() -> redis.Redis:
    return redis.Redis.from_url(os.environ["PROBE_REDIS_URL"])


@deadlines.handler("probe.effect", label="Probe: one effect, after an optional pause")
def probe_effect(deadline: Deadline) -> None:
    _redis().incr(f"probe-started:{deadline.pk}")
    time.sleep(float(deadline.payload.get("sleep", 0)))
    Notification.objects.create(
        recipient_id=deadline.payload["user_id"], kind="probe", title=f"probe effect {deadline.pk}"
    )
