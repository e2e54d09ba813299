"""Thin Celery tasks: they take ids and call core.deadlines, which does the work."""

from celery import shared_task

from core import deadlines


@shared_task(name="core.tasks.sweep_deadlines", ignore_result=True)
def sweep_deadlines() -> int:
    return deadlines.sweep()


@shared_task(name="core.tasks.fire_deadline", ignore_result=True)
def fire_deadline(deadline_id: int) -> str:
    return deadlines.fire(deadline_id)
