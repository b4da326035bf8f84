"""The store layer: the only code that knows Redis (key names, TTLs, Lua scripts, pub/sub)."""
