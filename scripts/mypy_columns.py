"""A mypy plugin: a table's column read on the class is a column, not a value.

SQLModel declares ``class Firm(SQLModel, table=True): name: str``, so to mypy ``Firm.name`` is a
``str`` — but on the class (``select(Firm).where(Firm.name == x)``, ``Firm.id.in_(ids)``,
``Firm.created_at.desc()``) it is SQLAlchemy's ``InstrumentedAttribute``. Without help every such
expression is an error (``"int" has no attribute "in_"``) or silently a ``bool``. This plugin
gives a field of a table class, read on the class, the type ``InstrumentedAttribute[T]`` (T the
declared type); read on an instance it stays ``T``; and sqlmodel's ``col(Firm.id)`` stays that
column (sqlmodel types it ``Mapped[type of its argument]``). A table class also gets its
``__table__`` (SQLAlchemy's ``Table``, which SQLModel's metaclass sets at run time without
declaring it). Nothing changes at run time.

Only classes of ``crm.models`` are touched (the one place the tables live), and only their
annotated, non-ClassVar fields.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.nodes import MDEF, NameExpr, TypeInfo, Var
from mypy.plugin import AttributeContext, ClassDefContext, FunctionContext, Plugin
from mypy.plugins.common import add_attribute_to_class
from mypy.types import Instance, Type, get_proper_type

MODELS = "crm.models."
ATTRIBUTE = "sqlalchemy.orm.attributes.InstrumentedAttribute"
TABLE = "sqlalchemy.sql.schema.Table"


class ColumnsPlugin(Plugin):
    def get_class_attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        if not fullname.startswith(MODELS):
            return None
        owner, _, name = fullname.rpartition(".")
        if name.startswith("_"):
            return None
        info = self.lookup_fully_qualified(owner)
        if info is None or not hasattr(info.node, "mro"):
            return None
        mro = [base.fullname for base in info.node.mro]  # type: ignore[union-attr]
        if "sqlmodel.main.SQLModel" not in mro:
            return None
        sym = info.node.names.get(name)  # type: ignore[union-attr]
        if sym is None or sym.kind != MDEF or not isinstance(sym.node, Var):
            return None
        if sym.node.is_classvar or sym.node.is_property:
            return None
        return _column

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        # sqlmodel's ``col(x)`` says ``Mapped[type of x]``: given a column it is that column
        return _unwrap_col if fullname == "sqlmodel.sql.expression.col" else None

    def get_customize_class_mro_hook(
        self, fullname: str
    ) -> Callable[[ClassDefContext], None] | None:
        # (per class, by its own name: pydantic's plugin already claims the SQLModel base hook)
        return _add_table if fullname.startswith(MODELS) else None

    def get_additional_deps(self, file: object) -> list[tuple[int, str, int]]:
        return [(10, "sqlalchemy.orm.attributes", -1), (10, "sqlalchemy.sql.schema", -1)]


def _column(ctx: AttributeContext) -> Type:
    module, _, name = ATTRIBUTE.rpartition(".")
    tree = ctx.api.modules.get(module)  # type: ignore[attr-defined]
    sym = tree.names.get(name) if tree is not None else None
    if sym is None or not isinstance(sym.node, TypeInfo):
        return ctx.default_attr_type
    return Instance(sym.node, [ctx.default_attr_type])


def _add_table(ctx: ClassDefContext) -> None:
    """``class Firm(SQLModel, table=True)`` in crm.models: ``Firm.__table__`` is a ``Table``."""
    table = ctx.cls.keywords.get("table")
    if not (isinstance(table, NameExpr) and table.fullname == "builtins.True"):
        return
    if "__table__" in ctx.cls.info.names:
        return
    typ = ctx.api.named_type_or_none(TABLE)
    if typ is None:
        return
    add_attribute_to_class(ctx.api, ctx.cls, "__table__", typ, is_classvar=True)


def _unwrap_col(ctx: FunctionContext) -> Type:
    if ctx.arg_types and ctx.arg_types[0]:
        given = get_proper_type(ctx.arg_types[0][0])
        if isinstance(given, Instance) and given.type.fullname == ATTRIBUTE:
            return given
    return ctx.default_return_type


def plugin(version: str) -> type[Plugin]:
    return ColumnsPlugin
