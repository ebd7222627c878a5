"""Secrets generated on first start (``kernel.generated_secret``): one per checkout, mode 600,
the configured value when there is one, and the same value for processes racing to create it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from kernel.generated_secret import configured_or_generated


def test_a_configured_secret_wins_and_nothing_is_written(tmp_path):
    assert configured_or_generated("given", str(tmp_path), "s") == "given"
    assert not (tmp_path / "s").exists()


def test_a_generated_secret_is_created_once_private_and_shared(tmp_path):
    with ThreadPoolExecutor(8) as pool:
        values = set(pool.map(lambda _: configured_or_generated("", str(tmp_path), "s", nbytes=48), range(8)))
    assert len(values) == 1 and len(values.pop()) >= 64
    assert (tmp_path / "s").stat().st_mode & 0o777 == 0o600


def test_an_empty_secret_file_is_a_clear_error(tmp_path):
    (tmp_path / "s").write_text("")
    with pytest.raises(RuntimeError, match="empty"):
        configured_or_generated("", str(tmp_path), "s")
