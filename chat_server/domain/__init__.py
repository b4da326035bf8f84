"""The pure domain core: plain data and rules, no I/O.

Nothing in this package may import aiohttp, redis or asyncio (a unit test enforces it).
Time and randomness are passed in by the caller.
"""
