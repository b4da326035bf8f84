"""Typed keys for what the app factory stores on the application."""

from aiohttp import web

from ..services import Services

SERVICES = web.AppKey("services", Services)
