"""EXPLAIN (ANALYZE, BUFFERS) of the slowest SELECTs a missed scenario ran (from its counting
pass), through the Django connection, to show where the time goes."""

from __future__ import annotations

from bench.web import Measurement

SQL_SHOWN = 1500


def slowest_selects(measurement: Measurement, limit: int = 2) -> list[dict]:
    selects = [q for q in measurement.captured if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))]
    return sorted(selects, key=lambda q: float(q["time"]), reverse=True)[:limit]


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def report(measurement: Measurement) -> str:
    parts = [f"== {measurement.scenario.name}: {len(measurement.captured)} queries; the slowest SELECTs"]
    for query in slowest_selects(measurement):
        sql = query["sql"]
        shown = sql if len(sql) <= SQL_SHOWN else sql[:SQL_SHOWN] + " ..."
        parts += [f"-- {float(query['time']) * 1000:.1f} ms when captured", shown, explain(sql), ""]
    return "\n".join(parts)
