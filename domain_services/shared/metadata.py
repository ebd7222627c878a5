"""Import every model module so ``Base.metadata`` is complete (Alembic, schema tests)."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from domain_services.shared.db import Base

MODEL_MODULES = (
    "domain_services.shared.models",
    "domain_services.movies.models",
    "domain_services.users.models",
    "domain_services.payments.models",
)


def load_all_models() -> MetaData:
    """The metadata with every table registered."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata
