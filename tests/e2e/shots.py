"""Screenshots of the console for people to look at (artifacts/screenshots, not kept in git),
each taken only after checking the page shows no program's word where a person's belongs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

_STRAY = r"/(^|\W)(null|undefined|NaN)(\W|$)|\[object Object\]/"


async def stray_words(page: Any) -> list[str]:
    """Text on the page that is a program's, not a person's: "null", "undefined", "NaN",
    "[object Object]" (a null handed to the DOM's replaceChildren is written as "null")."""
    found: list[str] = await page.evaluate(f"""() => {{
        const out = [];
        const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let n = walk.nextNode(); n; n = walk.nextNode()) {{
            if ({_STRAY}.test(n.textContent)) out.push(n.textContent.trim());
        }}
        return out;
    }}""")
    return found


async def shoot(page: Any, name: str, *, full_page: bool = False) -> None:
    """Check the page for stray words, then save it as ``name`` under artifacts/screenshots."""
    assert await stray_words(page) == [], name
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / name), full_page=full_page)
