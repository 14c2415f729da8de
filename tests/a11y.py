"""Accessibility checks in the browser tests: the vendored axe-core (tests/vendor/axe-core)
run on a page as it stands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each (the rule,
    what it asks, and up to three of the elements at fault)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated, not a <script>: the pages' Content-Security-Policy refuses inline code.
        page.evaluate(AXE.read_text() + "\n;undefined")
    found = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']}: "
            f"{[n['target'] for n in v['nodes'][:3]]}"
            for v in found["violations"] if v["impact"] in BLOCKING]
