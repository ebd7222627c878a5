"""Import every model module so ``Base.metadata`` is complete (Alembic, schema tests).

It lives in the composition root because importing every domain's models is an upward
import the kernel must never make (the kernel declares its own tables only).

The modules are the domain registry's (``registry.MODEL_MODULES``: the kernel's tables plus
each declared domain's ``models``) and the two deployment layers' own: the strangler control's
flags and shadow tables, the console's operator accounts.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from kernel import registry
from kernel.db import Base

#: Every module that declares tables.
MODEL_MODULES: tuple[str, ...] = (*registry.MODEL_MODULES, "strangler.models", "control_plane.models")


def load_all_models() -> MetaData:
    """The metadata with every table registered."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata
