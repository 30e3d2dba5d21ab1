"""axe-core, the accessibility engine behind most audits, run in the page by the browser tests.

The test set-up fetches it once with npm into ~/.cache/iom-assistant/npm (the server never
does); `IOM_TEST_AXE=/path/to/axe.min.js` names a copy instead, for machines without npm.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Frame, Page

AXE_PACKAGE = "axe-core@4"
NPM_PREFIX = Path.home() / ".cache" / "iom-assistant" / "npm"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@cache
def axe_source() -> str:
    """The text of axe.min.js, installed with npm on first use."""
    named = os.environ.get("IOM_TEST_AXE")
    script = Path(named) if named else NPM_PREFIX / "node_modules" / "axe-core" / "axe.min.js"
    if not script.is_file() and not named:
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(
                "npm is needed once to fetch axe-core for the accessibility tests: install Node.js "
                "(apt-get install npm), or set IOM_TEST_AXE to a downloaded axe.min.js"
            )
        done = subprocess.run(
            [npm, "install", "--prefix", str(NPM_PREFIX), "--no-audit", "--no-fund", AXE_PACKAGE],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"npm install {AXE_PACKAGE} failed: {done.stderr.strip()[-800:]}")
    if not script.is_file():
        pytest.fail(f"axe-core not found at {script}")
    return script.read_text(encoding="utf-8")


def violations(page: Page | Frame, exclude: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The WCAG 2.0/2.1 A and AA rules the page breaks, each with its failing elements' targets."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    found: list[dict[str, Any]] = page.evaluate(
        """async ([tags, exclude]) => {
            // colours caught half-way through a CSS transition are no colours a user reads
            const moving = document.getAnimations().filter((a) => a instanceof CSSTransition);
            await Promise.all(moving.map((a) => a.finished.catch(() => null)));
            const context = exclude.length ? {exclude: exclude.map((s) => [s])} : document;
            const options = {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]};
            const result = await axe.run(context, options);
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
            }));
        }""",
        [WCAG_AA, list(exclude)],
    )
    return found


def describe(found: list[dict[str, Any]]) -> str:
    """The violations, one line per failing element, for an assertion message."""
    lines = []
    for v in found:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        lines.extend(f"    {n['target']}: {n['summary']}" for n in v["nodes"])
    return "\n".join(lines)
