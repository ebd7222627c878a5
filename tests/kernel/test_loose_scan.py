"""``kernel.loose_scan.distinct_values`` against real PostgreSQL: the distinct values in order,
read through the index (one probe per value), not by reading every row."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, text

from kernel.loose_scan import distinct_values

_metadata = MetaData()
_items = Table("loose_scan_items", _metadata, Column("id", Integer, primary_key=True),
               Column("kind", String(20), index=True), prefixes=["TEMPORARY"])


def test_distinct_values_in_order_through_the_index(db_url):
    engine = create_engine(db_url)
    with engine.connect() as conn:
        _metadata.create_all(conn)
        conn.execute(insert(_items), [{"kind": f"k{i % 7}"} for i in range(5000)] + [{"kind": None}])
        conn.execute(text("ANALYZE loose_scan_items"))
        assert list(conn.scalars(distinct_values(_items.c.kind))) == [f"k{i}" for i in range(7)]
        assert list(conn.scalars(distinct_values(_items.c.kind, 3))) == ["k0", "k1", "k2"]
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # the plan a big table gets
        compiled = distinct_values(_items.c.kind).compile(engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(conn.scalars(text(f"EXPLAIN {compiled}")))
        assert "Index Only Scan" in plan or "Index Scan" in plan, plan
        conn.rollback()
    engine.dispose()
