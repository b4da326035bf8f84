"""The thin aiohttp layer: parse, call the domain and the store, answer."""
