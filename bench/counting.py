"""Counting SQL statements cheaply enough to leave on while timing."""

from __future__ import annotations


class QueryCounter:
    """Counts the statements run on a connection without keeping them: CaptureQueriesContext keeps
    at most 9,000 and turns on the debug cursor, which would slow what is being timed."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.count = 0
        self._wrapper = None

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self) -> QueryCounter:
        self._wrapper = self.connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._wrapper.__exit__(*exc)
