"""Distinct values of an indexed column in one index probe per value (a "loose index scan").

PostgreSQL answers ``SELECT DISTINCT column`` by reading every row; with few distinct values
over many rows (ten audit actions over ten million rows, a few hundred genres over a million
movies) a recursive CTE that asks the index for "the next value after this one" is as cheap at
any table size. The column must lead a B-tree index.
"""

from __future__ import annotations

from sqlalchemy import Column, Select, select


def distinct_values(column: Column, limit: int | None = None) -> Select:
    """``SELECT DISTINCT column ORDER BY column [LIMIT limit]``, written as a loose index scan."""
    step = column.table.alias("step")
    first = select(column.label("value")).order_by(column).limit(1)
    values = first.cte("loose_scan", recursive=True)
    following = step.c[column.name]
    nxt = select(select(following).where(following > values.c.value).order_by(following).limit(1)
                 .scalar_subquery().label("value")).where(values.c.value.is_not(None))
    values = values.union_all(nxt)
    query = select(values.c.value).where(values.c.value.is_not(None))
    return query.limit(limit) if limit is not None else query
