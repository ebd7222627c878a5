"""Each domain's console views, one module per domain, named after its registry entry.

``control_plane/catalogue/<domain>.py`` exposes ``views(session)``; :func:`domain_views`
collects them in the registry's order, so a new domain's views appear by adding its module
(a domain without one, such as events, simply has none).
"""

from __future__ import annotations

import importlib
import importlib.util

from flask_admin.contrib.sqla import ModelView
from sqlalchemy.orm import scoped_session

from kernel import registry


def domain_views(session: scoped_session) -> list[ModelView]:
    """Every domain's admin views over ``session``, in the registry's order."""
    views: list[ModelView] = []
    for domain in registry.DOMAINS:
        name = f"{__name__}.{domain.name}"
        if importlib.util.find_spec(name) is not None:
            views.extend(importlib.import_module(name).views(session))
    return views
