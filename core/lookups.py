"""`field__any=[...]`: `field = ANY(%s)` with the values sent as one array parameter.

For long lists (a page or an export chunk of thousands of ids) it is several times cheaper than
`__in`, which sends one parameter per value: 2,000 member ids took 26 ms through `__in` and 3 ms
as an array here, the difference being building and planning a 2,000-parameter statement.

Values only: a list, set or tuple of plain values or model instances (their primary keys); None
is left out, as `__in` does. A string, a mapping, an expression or a queryset is refused with a
TypeError (use `__in` for a subquery).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db.models import Field, ForeignObject, Lookup, Model


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False  # the list goes to the driver whole, as an array, not value by value

    def get_prep_lookup(self):
        rhs = self.rhs
        if (
            hasattr(rhs, "resolve_expression")
            or isinstance(rhs, (str, bytes, Mapping))
            or not isinstance(rhs, Iterable)
        ):
            raise TypeError(f"__any takes a list of values, not {type(rhs).__name__}; use __in for a subquery")
        values = [v.pk if isinstance(v, Model) else v for v in rhs]
        return [v for v in values if v is not None]

    def as_sql(self, compiler, connection):
        if self.bilateral_transforms:
            raise NotImplementedError("__any does not apply transforms to its values")
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(v, connection, prepared=False) for v in self.rhs]
        return f"{lhs} = ANY(%s)", [*lhs_params, values]


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)  # member_id__any=[...]: related fields keep their own lookups
