"""The flag's fields are declared once (``flag_contract.FIELDS``); every other place reads or matches it."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from sqlalchemy import TextClause

from cinemaabyss.commands.flags import set_command
from control_plane import strangler as console
from proxy.routing import Flag
from strangler import flags
from strangler.flag_contract import FIELDS, FLAG_DEFAULTS, FLAG_FIELDS
from strangler.models import MigrationFlag

ROOT = Path(__file__).resolve().parents[3]


def test_every_field_is_validated_and_an_unknown_one_is_refused():
    assert set(flags._VALIDATORS) == set(FLAG_FIELDS)
    accepted = flags.validate_changes({f.name: f.default for f in FIELDS})
    assert accepted == FLAG_DEFAULTS


def test_the_cli_offers_one_option_per_field_in_contract_order():
    options = [p.name for p in set_command.params if p.name in FLAG_FIELDS]
    assert tuple(options) == FLAG_FIELDS


def test_the_console_form_posts_every_field_but_mode_and_percent():
    assert set(console.SETTINGS_FIELDS) == set(FLAG_FIELDS) - {"mode", "percent"}
    card = (ROOT / "templates" / "_flag_card.html").read_text()
    missing = [name for name in console.SETTINGS_FIELDS if not re.search(rf'name="{name}"', card)]
    assert missing == [], f"the card has no input for {missing}"


def test_the_gateway_flag_has_the_contract_fields_and_defaults():
    declared = {f.name: f.default for f in fields(Flag) if f.name not in ("domain", "updated_at")}
    assert declared == FLAG_DEFAULTS
    assert tuple(declared) == FLAG_FIELDS


def test_the_table_has_a_column_per_field_with_the_contract_default():
    columns = MigrationFlag.__table__.columns
    for spec in FIELDS:
        default = columns[spec.name].server_default.arg
        text = default.text if isinstance(default, TextClause) else default
        assert str(text).lower() == str(spec.default).lower(), spec.name
