"""Fixtures for every browser test: one shared headless Chromium per test module, and the
widget's test environment (a real server plus a host page under a strict CSP)."""

from __future__ import annotations

from tests.browser.test_widget_support import env
from tests.support.browser import browser

__all__ = ["browser", "env"]  # the fixtures, offered to every module in tests/browser
