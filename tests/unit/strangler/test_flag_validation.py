"""Flag updates are cast and checked before anything is written (no database)."""

from __future__ import annotations

import pytest

from kernel.errors import InvalidInput
from strangler.flags import validate_changes


def test_boolean_fields_take_a_bool_or_a_yes_no_word():
    assert validate_changes({"fallback": "off", "auto_rollback": True}) == {"fallback": False, "auto_rollback": True}


@pytest.mark.parametrize("value", ["", "maybe", 1, None])
def test_a_boolean_field_refuses_anything_else(value):
    with pytest.raises(InvalidInput, match="fallback must be a boolean"):
        validate_changes({"fallback": value})
