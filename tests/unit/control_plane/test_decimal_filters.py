"""The catalogue's number filters take decimals (a float would be sent as double precision and skip the index)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask_admin.contrib.sqla import filters as sqla_filters

from control_plane.admin_support import FilterConverter


def _filter(name: str):
    return next(f for f in FilterConverter.float_filters if f.__name__ == f"Decimal{name}")


def test_every_number_filter_is_kept_in_flask_admins_order():
    names = [f.__name__.removeprefix("Decimal") for f in FilterConverter.float_filters]
    assert names == [f.__name__ for f in sqla_filters.FilterConverter.float_filters]


def test_values_are_decimals():
    assert _filter("FloatGreaterFilter").clean(None, " 9.9 ") == Decimal("9.9")
    assert _filter("FloatInListFilter").clean(None, "7.5, 8,") == [Decimal("7.5"), Decimal("8")]


@pytest.mark.parametrize("raw", ["abc", "nan", "Infinity", ""])
def test_a_value_that_is_no_finite_number_is_refused_as_flask_admin_expects(raw):
    with pytest.raises(ValueError, match="number"):
        _filter("FloatEqualFilter").clean(None, raw)
