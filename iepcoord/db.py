"""Several short lists read in one query.

A page that shows half a dozen short lists of one record (a meeting's invitations,
notices, answers, contact attempts, plans, feedback) paid a query for each: at district
scale each costs more in round trip, SQL compilation and planning than in reading its few
rows. `read_together` reads them as one UNION ALL, each row as a JSON object (built by
PostgreSQL's JSONB_BUILD_OBJECT or SQLite's JSON_OBJECT), and gives back the same model
instances the querysets would: every concrete field, and the instances of their `select_related` relations (one
level), in each queryset's order.

A list read on every view of a page paid Django more to build and compile its query than
PostgreSQL to run it: `compiled` builds and compiles it once per process for each shape of
its arguments, and each call runs it with its own values.
"""

import contextlib
import contextvars
import copy
import datetime
import functools
import threading

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import DateTimeField, F, Func, JSONField, Model, Q, Subquery, Value
from django.db.models.expressions import Col, Window
from django.db.models.functions import RowNumber
from django.db.models.query import QuerySet
from django.utils import timezone, translation

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


# --- Queries compiled once per process ----------------------------------------------------

# Turned on by the tests: each read through `compiled` is also built and compiled as usual,
# and must give the same SQL and parameters.
CHECK_COMPILED = False
# Shapes kept for each query, the least recently used dropped first: one costs 40-180 KB.
COMPILED_SHAPES = 32

_EMPTY = object()


class _Slots:
    """The values of a call that vary (ints, dates, times), in the order met, and
    stand-ins for them: the `k`th set of stand-ins (k = 0 or 1) gives every slot a value
    no row has, and two sets tell a value passed in from one computed inside."""

    # Stand-in ints stay within a small integer's range (Django writes no SQL for a value
    # out of its field's range): a call with more values is read as usual.
    MOST = 1000

    def __init__(self, stand_ins: int | None = None):
        self.values = []
        self.stand_ins = stand_ins
        self.built = []

    def take(self, value):
        slot = len(self.values)
        self.values.append(value)
        if self.stand_ins is None:
            return value
        k = self.stand_ins
        if isinstance(value, datetime.datetime):
            built = datetime.datetime(1901 + 50 * k, 1, 1, tzinfo=datetime.UTC)
            built += datetime.timedelta(minutes=slot)
        elif isinstance(value, datetime.time):
            seconds = 43_200 * k + slot
            built = datetime.time(seconds // 3600, seconds // 60 % 60, seconds % 60)
        elif isinstance(value, datetime.date):
            built = datetime.date(1901 + 50 * k, 1, 1) + datetime.timedelta(days=slot)
        else:
            built = 20_001 + 10_000 * k + slot
        self.built.append(built)
        return built


def _shape(value, slots: _Slots):
    """The part of the cache key that `value` decides, and the value to build with."""
    if value is None or isinstance(value, (bool, str)):
        return ("=", value), value
    if isinstance(value, type) and issubclass(value, Model):
        return ("model", value._meta.label), value
    if isinstance(value, (int, datetime.date, datetime.time)):
        if isinstance(value, datetime.datetime) and value.tzinfo is None:
            raise ValueError("compiled: a naive datetime")
        return type(value).__name__, slots.take(value)
    if isinstance(value, (set, frozenset)):
        value = sorted(value)
    if isinstance(value, (list, tuple)):
        pairs = [_shape(item, slots) for item in value]
        return ("list", *(shape for shape, _ in pairs)), [built for _, built in pairs]
    if isinstance(value, Q):
        shapes, children = [], []
        for child in value.children:
            if isinstance(child, Q):
                shape, built = _shape(child, slots)
            else:
                lookup, item = child
                shape, built = _shape(item, slots)
                shape, built = (lookup, shape), (lookup, built)
            shapes.append(shape)
            children.append(built)
        q = Q(*children, _connector=value.connector, _negated=value.negated)
        return ("Q", value.connector, value.negated, *shapes), q
    raise TypeError(f"compiled: cannot stand in for {type(value).__name__}")


def _arguments(kwargs, slots: _Slots):
    shapes, built = [], {}
    for name in sorted(kwargs):
        shape, built[name] = _shape(kwargs[name], slots)
        shapes.append((name, shape))
    return tuple(shapes), built


def _kind(value) -> str:
    # psycopg's Int4(1) and an int are both "int".
    for kind in (bool, int, datetime.datetime, datetime.date, datetime.time, str):
        if isinstance(value, kind):
            return kind.__name__
    return type(value).__name__


def _variants(built_values, ops) -> dict:
    """Each stand-in as the compiled parameters may hold it (SQLite keeps dates as text)."""
    found = {}
    for slot, value in enumerate(built_values):
        found[(_kind(value), value)] = (slot, None)
        if isinstance(value, datetime.datetime):
            found[("str", ops.adapt_datetimefield_value(value))] = (slot, "datetime")
        elif isinstance(value, datetime.date):
            found[("str", ops.adapt_datefield_value(value))] = (slot, "date")
        elif isinstance(value, datetime.time):
            found[("str", ops.adapt_timefield_value(value))] = (slot, "time")
    return found


def _is_date(value) -> bool:
    """A date or a time, or one as text (SQLite's parameters)."""
    if isinstance(value, str):
        for kind in (datetime.datetime, datetime.time):
            try:
                kind.fromisoformat(value)
            except ValueError:
                continue
            return True
        return False
    return isinstance(value, (datetime.date, datetime.time))


class _Compiled:
    def __init__(self, build, kwargs):
        results = []
        for k in (0, 1):
            slots = _Slots(k)
            _, built = _arguments(kwargs, slots)
            qs = build(**built)
            compiler = qs.query.get_compiler(using=qs.db)
            try:
                sql, params = compiler.as_sql()
            except EmptyResultSet:
                sql, params = _EMPTY, ()
            ops = compiler.connection.ops
            results.append((qs, compiler, sql, params, _variants(slots.built, ops)))
        (self.queryset, self.compiler, self.sql, params, seen), (_, _, sql, other, seen_other) = (
            results
        )
        self.query = self.queryset.query
        if sql != self.sql or len(params) != len(other):
            raise ValueError(f"compiled: {build.__qualname__} writes a value into its SQL")
        self.params = []
        for param, param_other in zip(params, other, strict=True):
            slot = seen.get((_kind(param), param))
            if slot is not None and slot == seen_other.get((_kind(param_other), param_other)):
                self.params.append(slot)
            elif (
                slot is None
                and param == param_other
                and not _is_date(param)
                and not seen_other.get((_kind(param_other), param_other))
            ):
                # A constant of the query (a status, EXISTS' 1).
                self.params.append((None, param))
            else:
                # Computed from an argument, or a date read from the clock: the compiled
                # query would keep the first call's value for ever.
                raise ValueError(
                    f"compiled: {build.__qualname__} uses {param!r}, which is not an argument"
                )

    def bind(self, values, ops) -> list:
        params = []
        for slot, how in self.params:
            if slot is None:
                params.append(how)
            elif how == "datetime":
                params.append(ops.adapt_datetimefield_value(values[slot]))
            elif how == "date":
                params.append(ops.adapt_datefield_value(values[slot]))
            elif how == "time":
                params.append(ops.adapt_timefield_value(values[slot]))
            else:
                params.append(values[slot])
        return params


class _Bound:
    """A compiled query as a queryset's iterable reads it: its own, with the compiler that
    holds this call's parameters."""

    def __init__(self, query, compiler):
        self._query = query
        self._compiler = compiler

    def get_compiler(self, *args, **kwargs):
        return self._compiler

    def __getattr__(self, name):
        return getattr(self._query, name)


def compiled(build):
    """Reads `build(**arguments)`, a queryset, building and compiling its SQL once per
    process for each shape of the arguments, instead of on every call: Django takes 1-3 ms
    to build and compile a list's query, often more than PostgreSQL takes to run it.

    Arguments are ints, dates, times, aware datetimes, strings, booleans, None, model
    classes, lists and sets of these, and Q objects of them (an access filter). The shape
    is everything but the ints, dates and times: the strings, booleans and Nones, the lengths of the lists and the
    structure of the Qs. The SQL is compiled with stand-ins in their place, twice with
    different ones, and a call puts its own values in: a value that the SQL holds but no
    argument gave (computed in `build`, or read from the clock) is refused. The zone and
    the language in use are part of the shape, and so is `limit` (a LIMIT is written into
    the SQL). Returns the list of results, prefetches done."""
    cache = {}
    lock = threading.Lock()

    def sliced(limit):
        return build if limit is None else lambda **kwargs: build(**kwargs)[:limit]

    @functools.wraps(build)
    def read(*, limit=None, **kwargs):
        slots = _Slots()
        shape, given = _arguments(kwargs, slots)  # sets as sorted lists
        if len(slots.values) > _Slots.MOST:
            return list(sliced(limit)(**kwargs))
        key = (shape, limit, timezone.get_current_timezone_name(), translation.get_language())
        with lock:
            entry = cache.pop(key, None)
            if entry is not None:
                cache[key] = entry  # the most recently used last
        if entry is None:
            entry = _Compiled(sliced(limit), kwargs)
            with lock:
                cache[key] = entry
                if len(cache) > COMPILED_SHAPES:
                    del cache[next(iter(cache))]
        if entry.sql is _EMPTY:
            return []
        db = entry.queryset.db
        connection = connections[db]
        sql, params = entry.sql, entry.bind(slots.values, connection.ops)
        if CHECK_COMPILED:
            fresh = sliced(limit)(**given)
            expected = fresh.query.get_compiler(using=fresh.db).as_sql()
            assert (sql, tuple(params)) == (expected[0], tuple(expected[1])), (
                f"compiled: {build.__qualname__} gave other SQL than a fresh compile"
            )
        compiler = copy.copy(entry.compiler)
        compiler.connection = connection
        compiler.as_sql = lambda *args, **kwargs: (sql, params)
        # A copy of the compiled queryset that reads through this compiler: cloning its
        # query instead took longer than running the access standing's.
        queryset = object.__new__(type(entry.queryset))  # copy.copy would evaluate it
        queryset.__dict__.update(entry.queryset.__dict__, _query=_Bound(entry.query, compiler))
        return list(queryset)

    return read
