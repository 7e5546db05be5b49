"""Imports every module that registers job handlers, so a worker knows them all."""

from __future__ import annotations

import hub.inbound
import hub.sync

__all__ = ["hub"]
