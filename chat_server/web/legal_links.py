"""The links every server-rendered visitor page ends with: the privacy notice, the
accessibility statement and the callback form (a module of its own, so the callback form and
the legal pages can both use it without importing each other)."""

from __future__ import annotations

from typing import Final

FOOTER: Final = {
    "sv": ("Så hanterar vi dina uppgifter", "Tillgänglighet", "Bli uppringd"),
    "en": ("How we handle your information", "Accessibility", "Get a call back"),
}


def legal_footer(lang: str) -> str:
    """The footer in ``lang`` ("sv" or "en"); the links keep the language."""
    suffix = "?lang=en" if lang == "en" else ""
    privacy, a11y, callback = FOOTER["en" if lang == "en" else "sv"]
    return (
        f'<footer><p><a href="/integritet{suffix}">{privacy}</a> · '
        f'<a href="/tillganglighet{suffix}">{a11y}</a> · '
        f'<a href="/callback{suffix}">{callback}</a></p></footer>'
    )
