"""The embedded GitBook-compatible sandbox server (see ``app.Sandbox``).

Importing this package opens no socket: the server starts with ``Sandbox.start()`` or
``with Sandbox() as sb:``.
"""

from __future__ import annotations

from .app import LoggedRequest, Sandbox
from .approve import ConsentError
from .faults import KINDS as FAULT_KINDS

__all__ = ["FAULT_KINDS", "ConsentError", "LoggedRequest", "Sandbox"]
