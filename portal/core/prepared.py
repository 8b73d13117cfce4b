"""PreparedGet: `queryset.get(field=value, ...)` with the SQL compiled once per process.

A few reads run on every page of the service: the logged-in account with its job seeker, the
registration flow of ②/③, the one-time-password challenge. For each, turning the QuerySet
into SQL cost the web worker more CPU than PostgreSQL took to answer it (an account with
`select_related("jobseeker")`: about 500 µs through `get()`, about 110 µs here).

The ORM still writes the SQL (select_related joins included) and still builds the instances:
the compiler's converters and related populators are those `ModelIterable` uses, so an
instance is the one `get()` returns. Only equality on the given fields is supported, on a
queryset with no filter, ordering, slicing, annotation or locking of its own; anything else is
refused when the query is first compiled. Queries go through `connection.cursor()`, so query
logging and execute wrappers see them as usual.
"""

from dataclasses import dataclass

from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import get_related_populators


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    params: tuple
    fields: list
    compiler: object  # the SQLCompiler that wrote `sql`: its converters apply to the rows
    converters: dict
    init_list: list[str]  # the model's attribute names, in the order of the row's columns
    span: slice  # where the model's own columns are in the row
    populators: list  # the select_related instances, built by the ORM's RelatedPopulator


class PreparedGet:
    def __init__(self, queryset: QuerySet, *field_names: str) -> None:
        query = queryset.query
        if (
            query.where
            or query.order_by
            or query.extra_order_by
            or query.is_sliced
            or query.annotations
            or query.extra
            or query.select_for_update
            or query.distinct
            or query.combinator
            or query._filtered_relations
            or queryset._fields is not None
            or queryset._prefetch_related_lookups
            or queryset._known_related_objects
        ):
            raise ValueError("PreparedGet takes an unfiltered, unordered, unannotated queryset")
        if not field_names:
            raise ValueError("PreparedGet needs at least one field to look up by")
        self._queryset = queryset.order_by()  # no Meta.ordering: get() drops it too
        self._field_names = field_names
        self._compiled: dict[str, _Compiled] = {}  # by database alias

    def _compile(self, connection) -> _Compiled:
        queryset = self._queryset
        opts = queryset.model._meta
        query = queryset.query.clone()  # compiling changes the query: never the shared one
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        quote = connection.ops.quote_name
        alias = query.get_initial_alias()
        fields = [opts.pk if name == "pk" else opts.get_field(name) for name in self._field_names]
        conditions = " AND ".join(f"{quote(alias)}.{quote(f.column)} = %s" for f in fields)
        select, klass_info = compiler.select, compiler.klass_info
        start, stop = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        compiled = _Compiled(
            # Two rows are enough to tell MultipleObjectsReturned (get() asks for 21).
            sql=f"{sql} WHERE {conditions} LIMIT 2",
            params=tuple(params),
            fields=fields,
            compiler=compiler,
            converters=compiler.get_converters([s[0] for s in select[: compiler.col_count]]),
            init_list=[column[0].target.attname for column in select[start:stop]],
            span=slice(start, stop),
            populators=get_related_populators(klass_info, select, connection.alias),
        )
        self._compiled[connection.alias] = compiled
        return compiled

    def get(self, **values):
        """The one instance whose fields equal `values`; DoesNotExist or MultipleObjectsReturned
        as `QuerySet.get()` raises them."""
        if values.keys() != set(self._field_names):
            raise TypeError(f"PreparedGet.get() takes exactly {', '.join(self._field_names)}")
        model = self._queryset.model
        using = self._queryset.db
        connection = connections[using]
        compiled = self._compiled.get(using) or self._compile(connection)
        params = [
            *compiled.params,
            *(
                field.get_db_prep_value(values[name], connection, prepared=False)
                for name, field in zip(self._field_names, compiled.fields, strict=True)
            ),
        ]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchmany(2)
        if not rows:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        if len(rows) > 1:
            raise model.MultipleObjectsReturned(
                f"get() returned more than one {model._meta.object_name}."
            )
        if compiled.converters:
            rows = compiled.compiler.apply_converters(rows, compiled.converters)
        row = next(iter(rows))
        instance = model.from_db(using, compiled.init_list, row[compiled.span])
        for populator in compiled.populators:
            populator.populate(row, instance)
        return instance
