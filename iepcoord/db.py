"""Several short lists read in one query.

A page that shows half a dozen short lists of one record (a meeting's invitations,
notices, answers, contact attempts, plans, feedback) paid a query for each: at district
scale each costs more in round trip, SQL compilation and planning than in reading its few
rows. `read_together` reads them as one UNION ALL, each row as a JSON object (built by
PostgreSQL's JSONB_BUILD_OBJECT or SQLite's JSON_OBJECT), and gives back the same model
instances the querysets would: every concrete field, and the instances of their `select_related` relations (one
level), in each queryset's order.
"""

import contextlib
import contextvars
import datetime

from django.db import router
from django.db.models import DateTimeField, F, Func, JSONField, Subquery, Value
from django.db.models.expressions import Col, Window
from django.db.models.functions import RowNumber
from django.db.models.query import QuerySet

PAIRS = 50

PREPARED = contextvars.ContextVar("prepared", default=False)


@contextlib.contextmanager
def prepared():
    """Statements run inside are prepared on their connection (PostgreSQL with server-side
    binding: iepcoord/postgresql): the next runs of the same text skip parsing, and after
    five runs PostgreSQL plans it once for every value when that plan costs about what one
    for each value does. For statements whose planning costs more than their run and
    whose one plan was checked to be as fast (README "Pages at district scale"). Also a
    decorator."""
    token = PREPARED.set(True)
    try:
        yield
    finally:
        PREPARED.reset(token)


class Row(Func):
    """Columns or aggregates as one JSON object, so that results of different shapes can be
    read in one UNION ALL. Django's JSONObject casts each key as a parameter, which cost
    more to compile than the query took to run; these keys are names from the code."""

    output_field = JSONField()

    def __init__(self, columns: dict):
        self.keys = list(columns)
        super().__init__(*columns.values())

    def resolve_expression(
        self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False
    ):
        # Columns from Field.get_col (read_together's) are resolved already: Func would copy
        # and resolve each again, a third of the time to compile the meeting page's lists.
        row = self.copy()
        row.is_summary = summarize
        row.set_source_expressions(
            [
                expression
                if isinstance(expression, Col)
                else expression.resolve_expression(query, allow_joins, reuse, summarize, for_save)
                for expression in self.get_source_expressions()
            ]
        )
        return row

    def as_sql(self, compiler, connection, **extra_context):
        postgres = connection.vendor == "postgresql"
        function = "JSONB_BUILD_OBJECT" if postgres else "JSON_OBJECT"
        parts, params = [], []
        for key, expression in zip(self.keys, self.get_source_expressions(), strict=True):
            sql, expression_params = compiler.compile(expression)
            parts.append(f"'{key}', {sql}")
            params.extend(expression_params)
        # A function takes at most 100 arguments in PostgreSQL (127 in SQLite): a wide row
        # is built in parts and merged.
        objects = [
            f"{function}({', '.join(parts[start : start + PAIRS])})"
            for start in range(0, len(parts), PAIRS)
        ]
        merged = objects[0]
        for part in objects[1:]:
            # SQLite's merge leaves out a null member: _instance reads it as null.
            merged = f"({merged} || {part})" if postgres else f"JSON_PATCH({merged}, {part})"
        return merged, params


def _fields(model, prefix=""):
    return [(f"{prefix}{field.attname}", field) for field in model._meta.concrete_fields]


def _value(field, raw):
    if raw is None:
        return None
    value = field.to_python(raw)
    # SQLite keeps datetimes as UTC text without an offset.
    if isinstance(field, DateTimeField) and value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value


def _instance(model, db, data, prefix="", only=None):
    """The instance of a JSON row: every concrete field, or the attnames in `only` (the
    others deferred, in the model's order as Model.from_db reads them)."""
    if data.get(f"{prefix}{model._meta.pk.attname}") is None:
        return None  # an empty nullable relation
    fields = [(key, f) for key, f in _fields(model, prefix) if only is None or f.attname in only]
    values = [_value(field, data.get(key)) for key, field in fields]
    return model.from_db(db, [field.attname for _, field in fields], values)


def first_row(queryset: QuerySet, *fields: str) -> Subquery:
    """The first row of a correlated queryset, its primary key and these fields (attnames)
    as one JSON object: a list's one related row (a guardian's newest invitation) read in
    the list's query instead of prefetched, which costs a second query and an instance of
    every related row. `row_instance` reads it back."""
    names = dict.fromkeys([queryset.model._meta.pk.attname, *fields])
    return Subquery(
        queryset.values(row=Row({name: F(name) for name in names}))[:1],
        output_field=JSONField(),
    )


def row_instance(model, data: dict | None, fields):
    """The instance of a `first_row` (None when there was none): its other fields deferred,
    so reading one of them queries it instead of giving a wrong None."""
    if data is None:
        return None
    only = {model._meta.pk.attname} | {model._meta.get_field(name).attname for name in fields}
    return _instance(model, router.db_for_read(model), data, only=only)


def _columns(qs: QuerySet, related: list[str]) -> dict:
    """The queryset's own columns and its relations', each joined once (the columns of a
    joined table come from one resolved reference: resolving each costs a join lookup)."""
    query = qs.query
    columns = {key: field.get_col(query.get_initial_alias()) for key, field in _fields(qs.model)}
    for relation in related:
        target = qs.model._meta.get_field(relation).related_model
        fields = _fields(target, f"{relation}__")
        probe = next(field for _, field in fields if not field.primary_key)
        alias = query.resolve_ref(f"{relation}__{probe.attname}", allow_joins=True).alias
        columns.update({key: field.get_col(alias) for key, field in fields})
    return columns


def read_together(**querysets: QuerySet) -> dict[str, list]:
    """The rows of each queryset, by the name it was given, in one query. The querysets
    must not be sliced; their select_related relations must be one level deep."""
    arms, shapes = [], {}
    for name, qs in querysets.items():
        chosen = qs.query.select_related or {}
        if chosen is True or any(chosen.values()):
            raise ValueError(f"{name}: name each relation, one level deep, in select_related")
        if qs.query.is_sliced:
            raise ValueError(f"{name}: a sliced queryset cannot be read together")
        related = list(chosen)
        shapes[name] = (qs.model, related)
        order = list(qs.query.order_by or qs.model._meta.ordering or ["pk"]) + ["pk"]
        arm = qs.select_related(None).order_by()
        arms.append(
            arm.values_list(
                Value(name), Window(RowNumber(), order_by=order), Row(_columns(arm, related))
            )
        )
    first, *rest = arms
    db = router.db_for_read(first.model)
    # Parsing and planning the page's UNION ALL took PostgreSQL 1.4 ms, running it 0.2.
    with prepared():
        rows = sorted(first.union(*rest, all=True) if rest else first, key=lambda row: row[:2])
    lists = {name: [] for name in querysets}
    for name, _, data in rows:
        model, related = shapes[name]
        obj = _instance(model, db, data)
        for relation in related:
            target = model._meta.get_field(relation).related_model
            setattr(obj, relation, _instance(target, db, data, f"{relation}__"))
        lists[name].append(obj)
    return lists
