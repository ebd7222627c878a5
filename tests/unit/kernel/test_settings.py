"""Settings: typed, documented, loud on bad values."""

from __future__ import annotations

import pytest

from kernel.settings import describe, load_settings


def test_defaults_apply_when_environment_is_empty():
    settings = load_settings({})
    assert settings.web_workers == 2
    assert settings.gradual_migration is False
    assert settings.port_or(8080) == 8080


def test_environment_overrides_and_casts():
    settings = load_settings({"PORT": "9999", "GRADUAL_MIGRATION": "true", "MOVIES_MIGRATION_PERCENT": "30"})
    assert settings.port_or(8080) == 9999
    assert settings.gradual_migration is True
    assert settings.movies_migration_percent == 30


@pytest.mark.parametrize(("name", "value"), [("WEB_WORKERS", "two"), ("GRADUAL_MIGRATION", "maybe")])
def test_invalid_value_names_the_variable(name, value):
    with pytest.raises(ValueError, match=name):
        load_settings({name: value})


def test_every_setting_is_documented():
    rows = describe()
    assert len({env for env, _, _ in rows}) == len(rows)
    assert all(doc for _, _, doc in rows)


def test_boolean_settings_read_the_shared_words_and_an_empty_value_as_off():
    assert load_settings({"GRADUAL_MIGRATION": "on"}).gradual_migration is True
    assert load_settings({"GRADUAL_MIGRATION": ""}).gradual_migration is False
