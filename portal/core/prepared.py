"""Querysets whose SQL the ORM writes once per process and database.

A few statements run on every request of the registration flow and the login: the account
with its job seeker, the flow (read, or locked with its key mail), the register lookup of ②,
the per-address mail count. For each, turning the QuerySet into SQL cost the web worker more
CPU than the database took to answer it (an account with `select_related("jobseeker")`: about
500 µs through `get()`, about 110 µs here).

`PreparedQuery` takes a QuerySet whose changing values are `Param`s. The first use compiles it
with the ORM, which writes one placeholder per Param; each use binds the Params' values,
converted by their model fields as the ORM converts a value it is given. The ORM writes the
SQL (joins, locking, ordering, limits) and builds the instances: the compiler's converters and
related populators are those `ModelIterable` uses, so an instance is the one the QuerySet
gives. Queries go through `connection.cursor()`, so query logging and execute wrappers see
them as usual.

`PreparedGet(queryset, *field_names)` is the common case: `queryset.get(field=value, ...)`.
"""

import copy
from dataclasses import dataclass

from django.db import DatabaseError, connections, router, transaction
from django.db.models import Model, QuerySet, Value
from django.db.models.query import get_related_populators
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery, UpdateQuery
from django.db.transaction import TransactionManagementError


class _Slot:
    """Where a Param's value goes in a compiled statement's parameters, and how its field
    converts it: as a value to save (an update's new value) or to compare with."""

    __slots__ = ("field", "for_save", "name")

    def __init__(self, name: str, field, for_save: bool) -> None:
        self.name, self.field, self.for_save = name, field, for_save

    def bind(self, value, connection):
        if self.for_save:
            return self.field.get_db_prep_save(value, connection)
        if value is None:
            # The ORM writes IS NULL for filter(x=None); a placeholder would compare = NULL,
            # which matches nothing.
            raise ValueError(f"{self.name}=None: compare with None through __isnull instead")
        return self.field.get_db_prep_value(value, connection, prepared=False)


class Param(Value):
    """A value given at each run of a prepared statement as `name=value`, converted for the
    database by `model`'s field `field` (default: the field called `name`)."""

    def __init__(self, name: str, model, field: str | None = None) -> None:
        field = field or name
        self.name = name
        target = model._meta.pk if field == "pk" else model._meta.get_field(field)
        super().__init__(None, output_field=target)

    def as_sql(self, compiler, connection):
        return "%s", [_Slot(self.name, self.output_field, self.for_save)]


@dataclass(frozen=True, slots=True)
class _Statement:
    sql: str
    params: tuple  # constants, and a _Slot for each Param
    names: frozenset  # the Params' names
    locks: bool  # SELECT … FOR UPDATE: only inside a transaction


@dataclass(frozen=True, slots=True)
class _Rows:
    statement: _Statement
    compiler: object  # the SQLCompiler that wrote the SQL: its converters apply to the rows
    converters: dict
    init_list: list[str]  # the model's attribute names, in the order of the row's columns
    span: slice  # where the model's own columns are in the row
    populators: list  # the select_related instances, built by the ORM's RelatedPopulator


def _statement(sql: str, params, *, locks: bool = False) -> _Statement:
    names = frozenset(p.name for p in params if type(p) is _Slot)
    return _Statement(sql=sql, params=tuple(params), names=names, locks=locks)


def _refuse_unsupported(queryset: QuerySet) -> None:
    query = queryset.query
    if (
        query.extra
        or query.combinator
        or query._filtered_relations
        or queryset._fields is not None
        or queryset._prefetch_related_lookups
        or queryset._known_related_objects
    ):
        raise ValueError("a prepared query takes no extra(), union, values, prefetch or relations")


class PreparedQuery:
    """A QuerySet compiled once per database; `Param`s in its filters (and in `update()`'s
    values) are bound at each run."""

    def __init__(self, queryset: QuerySet) -> None:
        _refuse_unsupported(queryset)
        self._queryset = queryset
        self._compiled: dict[tuple[str, str], object] = {}  # by (kind, database alias)

    # --- compiling (once per process, kind and database) ---

    def _compile(self, kind: str, connection):
        key = (kind, connection.alias)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = getattr(self, f"_compile_{kind}")(connection)
        return compiled

    def _compile_rows(self, connection, queryset: QuerySet) -> _Rows:
        query = queryset.query.clone()  # compiling changes the query: never the shared one
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        select, klass_info = compiler.select, compiler.klass_info
        start, stop = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        return _Rows(
            statement=_statement(sql, params, locks=bool(query.select_for_update)),
            compiler=compiler,
            converters=compiler.get_converters([s[0] for s in select[: compiler.col_count]]),
            init_list=[column[0].target.attname for column in select[start:stop]],
            span=slice(start, stop),
            populators=get_related_populators(klass_info, select, connection.alias),
        )

    def _compile_all(self, connection) -> _Rows:
        return self._compile_rows(connection, self._queryset)

    def _compile_get(self, connection) -> _Rows:
        # As get(): no ordering; two rows are enough to tell MultipleObjectsReturned.
        return self._compile_rows(connection, self._queryset.order_by()[:2])

    def _compile_first(self, connection) -> _Rows:
        queryset = self._queryset if self._queryset.ordered else self._queryset.order_by("pk")
        return self._compile_rows(connection, queryset[:1])

    def _compile_count(self, connection) -> _Statement:
        inner = self._queryset.order_by().values("pk").query.clone()
        sql, params = inner.get_compiler(connection=connection).as_sql()
        return _statement(f"SELECT COUNT(*) FROM ({sql}) counted", params)  # noqa: S608

    # --- running ---

    def _params(self, statement: _Statement, values: dict, connection) -> list:
        if values.keys() != statement.names:
            raise TypeError(f"this query takes exactly {', '.join(sorted(statement.names))}")
        if statement.locks and connection.get_autocommit():
            raise TransactionManagementError("select_for_update needs a transaction")
        return [
            p.bind(values[p.name], connection) if type(p) is _Slot else p for p in statement.params
        ]

    def _rows(self, kind: str, values: dict):
        using = self._queryset.db
        connection = connections[using]
        rows_of = self._compile(kind, connection)
        params = self._params(rows_of.statement, values, connection)
        with connection.cursor() as cursor:
            cursor.execute(rows_of.statement.sql, params)
            rows = cursor.fetchall()
        if rows and rows_of.converters:
            rows = list(rows_of.compiler.apply_converters(rows, rows_of.converters))
        model = self._queryset.model
        instances = []
        for row in rows:
            instance = model.from_db(using, rows_of.init_list, row[rows_of.span])
            for populator in rows_of.populators:
                populator.populate(row, instance)
            instances.append(instance)
        return instances

    def get(self, **values):
        """The one instance the query finds; DoesNotExist or MultipleObjectsReturned as
        `QuerySet.get()` raises them."""
        found = self._rows("get", values)
        model = self._queryset.model
        if not found:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        if len(found) > 1:
            raise model.MultipleObjectsReturned(
                f"get() returned more than one {model._meta.object_name}."
            )
        return found[0]

    def all(self, **values) -> list:
        """Every instance the query finds, in its order."""
        return self._rows("all", values)

    def first(self, **values):
        """As `QuerySet.first()`: the first instance in the query's order (else by pk)."""
        found = self._rows("first", values)
        return found[0] if found else None

    def count(self, **values) -> int:
        connection = connections[self._queryset.db]
        statement = self._compile("count", connection)
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, self._params(statement, values, connection))
            return cursor.fetchone()[0]

    def updating(self, **changes) -> "PreparedUpdate":
        """`QuerySet.update(**changes)` prepared; `changes` may hold Params."""
        return PreparedUpdate(self._queryset, changes)


class PreparedUpdate(PreparedQuery):
    def __init__(self, queryset: QuerySet, changes: dict) -> None:
        queryset = queryset.all()
        queryset._for_write = True  # as QuerySet.update(): the database for writes
        super().__init__(queryset)
        self._changes = changes

    def _compile_update(self, connection) -> _Statement:
        query = self._queryset.query.chain(UpdateQuery)
        query.add_update_values(self._changes)
        query.annotations = {}
        if query.related_updates or query.count_active_tables() > 1:
            raise ValueError("a prepared update changes one table, filtered on that table")
        sql, params = query.get_compiler(connection=connection).as_sql()
        return _statement(sql, params)

    def run(self, **values) -> int:
        """Runs the update; returns the number of rows changed."""
        connection = connections[self._queryset.db]
        statement = self._compile("update", connection)
        params = self._params(statement, values, connection)
        with (
            transaction.mark_for_rollback_on_error(connection.alias),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement.sql, params)
            return cursor.rowcount


class PreparedGet(PreparedQuery):
    """`queryset.get(field=value, ...)` prepared: equality on the given fields of a queryset
    with no filter, ordering, slicing, annotation or locking of its own."""

    def __init__(self, queryset: QuerySet, *field_names: str) -> None:
        query = queryset.query
        if (
            query.where
            or query.order_by
            or query.extra_order_by
            or query.is_sliced
            or query.annotations
            or query.select_for_update
            or query.distinct
        ):
            raise ValueError("PreparedGet takes an unfiltered, unordered, unannotated queryset")
        if not field_names:
            raise ValueError("PreparedGet needs at least one field to look up by")
        model = queryset.model
        super().__init__(queryset.filter(**{name: Param(name, model) for name in field_names}))


# --- save(update_fields=…) -------------------------------------------------------------------

_UPDATES: dict[tuple[type, tuple[str, ...]], PreparedUpdate] = {}


def _save_is_plain(obj) -> bool:
    """Whether Model.save() would do nothing for this instance but its own SQL: a model
    without parents, its own save() or save signals' receivers."""
    model, meta = type(obj), obj._meta
    return (
        model.save is Model.save
        and not meta.parents
        and not pre_save.has_listeners(model)
        and not post_save.has_listeners(model)
    )


def prepared_update(obj, update_fields) -> None:
    """`obj.save(update_fields=update_fields)` with the UPDATE compiled once per process and
    set of fields; anything save() would do more for (see _save_is_plain) goes through save()."""
    if obj._state.adding or not _save_is_plain(obj):
        obj.save(update_fields=update_fields)
        return
    obj._prepare_related_fields_for_save(operation_name="save")  # as save(): unsaved relations
    meta = obj._meta
    fields = [meta.get_field(name) for name in update_fields]
    key = (type(obj), tuple(f.name for f in fields))
    update = _UPDATES.get(key)
    if update is None:
        model = type(obj)
        update = _UPDATES[key] = PreparedQuery(
            model._base_manager.filter(pk=Param("pk", model))
        ).updating(**{f.name: Param(f.name, model) for f in fields})
    values = {f.name: f.pre_save(obj, False) for f in fields}
    if any(hasattr(value, "resolve_expression") for value in values.values()):
        obj.save(update_fields=update_fields)  # an expression as a value: the ORM's own path
        return
    using = obj._state.db or router.db_for_write(type(obj), instance=obj)
    with transaction.mark_for_rollback_on_error(using):
        if not update.run(pk=obj.pk, **values):
            raise DatabaseError("Save with update_fields did not affect any rows.")


# --- INSERT -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Insert:
    sql: str
    returning: list  # the fields the database answers (the auto primary key)
    returning_params: tuple
    compiler: object
    converters: dict
    placeholders: dict  # field -> the placeholder written, for fields that choose their own


_INSERTS: dict[tuple[type, str], _Insert] = {}  # by (model, database alias)


def _insert_fields(meta) -> list:
    """The columns an INSERT of a new instance writes, as Model.save() picks them."""
    return [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]


def _insert_compile(obj, fields: list, prepared: list, connection) -> _Insert:
    meta = obj._meta
    query = InsertQuery(type(obj))
    # Compiled on a copy: the compiler calls the fields' pre_save() again (auto_now would
    # give the instance a time other than the one written).
    query.insert_values(fields, [copy.copy(obj)])
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = returning = list(meta.db_returning_fields)
    ((sql, _params),) = compiler.as_sql()
    return _Insert(
        sql=sql,
        returning=returning,
        returning_params=tuple(compiler.returning_params),
        compiler=compiler,
        converters=compiler.get_converters([f.get_col(meta.db_table) for f in returning]),
        placeholders={
            field: field.get_placeholder(value, compiler, connection)
            for field, value in zip(fields, prepared, strict=True)
            if hasattr(field, "get_placeholder")
        },
    )


def _insert_is_plain(obj) -> bool:
    """Whether Model.save() would do nothing for this instance but one INSERT: a new instance
    of a model without parents, its own save() or save signals' receivers, whose primary key
    the database gives."""
    meta = obj._meta
    return (
        obj._state.adding
        and _save_is_plain(obj)
        and not meta.order_with_respect_to
        and meta.auto_field is not None
        and getattr(obj, meta.pk.attname) is None
    )


def prepared_insert(obj):
    """Saves a new instance as `obj.save()` does, with the INSERT the ORM writes for its model
    compiled once per process and database (the values are converted by their fields as
    save() converts them); anything but a plain insert of plain values (see _insert_is_plain)
    goes through save() itself. Returns `obj`, with its primary key set."""
    if not _insert_is_plain(obj):
        obj.save()
        return obj
    obj._prepare_related_fields_for_save(operation_name="save")  # as save(): unsaved relations
    using = router.db_for_write(type(obj), instance=obj)
    connection = connections[using]
    fields = _insert_fields(obj._meta)
    values = [field.pre_save(obj, True) for field in fields]
    if any(hasattr(value, "resolve_expression") for value in values):
        obj.save()  # an expression as a value: the ORM's own path
        return obj
    prepared = [f.get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True)]
    key = (type(obj), connection.alias)
    compiled = _INSERTS.get(key)
    if compiled is None:
        compiled = _INSERTS[key] = _insert_compile(obj, fields, prepared, connection)
    for field, placeholder in compiled.placeholders.items():
        # A field whose placeholder depends on the value (BinaryField on MySQL).
        if field.get_placeholder(prepared[fields.index(field)], compiled.compiler, connection) != (
            placeholder
        ):
            obj.save()
            return obj
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(compiled.sql, prepared)
        if compiled.returning:
            rows = [connection.ops.fetch_returned_insert_columns(cursor, compiled.returning_params)]
            if compiled.converters:
                rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
            for value, field in zip(rows[0], compiled.returning, strict=True):
                setattr(obj, field.attname, value)
    obj._state.adding = False
    obj._state.db = using
    return obj
