"""Indexes declared on the models exist in the migrated schema, on the same columns.

The column check in ``test_migrations.py`` cannot see an index that only a model declares
(or one a migration builds on other columns); the planner can.
"""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from cinemaabyss.schema import load_all_models


def test_every_model_index_exists_in_the_migrated_schema(db_url):
    engine = create_engine(db_url)
    try:
        inspector = inspect(engine)
        missing = []
        for table in load_all_models().sorted_tables:
            migrated = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes(table.name)}
            for index in table.indexes:
                columns = [c.name for c in index.columns]
                if migrated.get(index.name) != columns:
                    missing.append(f"{table.name}.{index.name} {columns} (migrated: {migrated.get(index.name)})")
        assert not missing, missing
    finally:
        engine.dispose()


def test_the_relay_claim_order_has_its_index(db_url):
    """The claim's ORDER BY (created_at, seq) over pending rows is served by a partial index."""
    engine = create_engine(db_url)
    try:
        indexes = {ix["name"]: ix for ix in inspect(engine).get_indexes("outbox")}
    finally:
        engine.dispose()
    order = indexes["ix_outbox_pending_order"]
    assert order["column_names"] == ["created_at", "seq"]
    assert "published_at IS NULL" in order["dialect_options"]["postgresql_where"]
