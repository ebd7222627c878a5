"""The gateway stays ORM-free: it reads flags and revocations with plain psycopg."""

from __future__ import annotations

import subprocess
import sys


def test_gateway_imports_no_orm():
    code = ("import sys, proxy.gateway, proxy.rsgi, proxy.app; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'flask')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
