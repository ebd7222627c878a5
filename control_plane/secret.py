"""The session secret: ``SECRET_KEY`` if set, else a key generated once into ``RUN_DIR/secret_key``."""

from __future__ import annotations

from kernel.generated_secret import configured_or_generated
from kernel.settings import Settings


def load_secret_key(settings: Settings) -> str:
    """Return the configured key or read/create ``RUN_DIR/secret_key`` (mode 600).

    Creation uses ``O_EXCL`` so several workers starting at once agree on one key.
    """
    return configured_or_generated(settings.secret_key, settings.run_dir, "secret_key", nbytes=48)
