"""Migration scripts are frozen in time: they import Alembic and SQLAlchemy, never the product.

A revision that imported today's models or helpers would change meaning when they change, and
an old database would be migrated by code that did not exist when the revision was written.
import-linter cannot see them (Alembic loads them by path), so this test reads their imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"
ALLOWED = {"__future__", "alembic", "sqlalchemy", "datetime", "typing", "uuid", "json", "re"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_every_revision_imports_only_alembic_sqlalchemy_and_the_standard_library():
    revisions = sorted(VERSIONS.glob("*.py"))
    assert len(revisions) >= 14
    offenders = {p.name: sorted(_imports(p) - ALLOWED) for p in revisions if _imports(p) - ALLOWED}
    assert offenders == {}
