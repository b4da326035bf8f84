"""Fixtures for every browser test: one shared headless Chromium per test module."""

from __future__ import annotations

from tests.support.browser import browser

__all__ = ["browser"]  # the fixture, offered to every module in tests/browser
