"""Import every model module so ``Base.metadata`` is complete (Alembic, schema tests).

It lives in the composition root because importing every domain's models is an upward
import the kernel must never make (the kernel declares its own tables only).

The modules are the domain registry's (``registry.MODEL_MODULES``): the kernel's tables plus
each declared domain's ``models``.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from kernel.db import Base
from kernel.registry import MODEL_MODULES


def load_all_models() -> MetaData:
    """The metadata with every table registered."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata
