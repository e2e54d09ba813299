"""The Celery application. Beat runs exactly one periodic job: the deadline sweep."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carecoord.settings")

app = Celery("carecoord")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule_sweep(sender: Celery, **_kwargs) -> None:
    from django.conf import settings

    sender.add_periodic_task(
        float(settings.DEADLINE_SWEEP_SECONDS),
        sender.signature("core.tasks.sweep_deadlines"),
        name="sweep due deadlines",
    )
