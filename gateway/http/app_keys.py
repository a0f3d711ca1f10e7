"""Typed keys for app and request state."""

from __future__ import annotations

from aiohttp import web

from gateway.runtime.wiring import Services

SERVICES = web.AppKey("services", Services)
