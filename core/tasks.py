"""Thin Celery tasks: they take ids and call core.deadlines, which does the work."""

from celery import shared_task

from core import deadlines


@shared_task(name="core.tasks.sweep_deadlines", ignore_result=True)
def sweep_deadlines() -> int:
    return deadlines.sweep()


@shared_task(name="core.tasks.fire_deadlines", ignore_result=True)
def fire_deadlines(deadline_ids: list[int]) -> dict[str, int]:
    return deadlines.fire_many(deadline_ids)


@shared_task(name="core.tasks.fire_deadline", ignore_result=True)
def fire_deadline(deadline_id: int) -> str:
    """One id per message: what sweeps sent before messages carried batches. Kept so messages
    already in a broker during an upgrade are still worked."""
    return deadlines.fire(deadline_id)
