"""Load time of the dashboard page in Chromium: the server's own time (its Server-Timing header),
the browser's navigation timing, and the time until every chart is drawn.

The browser tests use it; standalone it measures any running dashboard, e.g. on the 1,000,000-
referral benchmark warehouse (a fresh browser context per run, so nothing is cached):

    .venv/bin/python tests/dashboard_load_timing.py http://127.0.0.1:8050/ --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

CHROMIUM = Path(os.environ.get("REFERRAL_INSIGHTS_CHROMIUM", "/usr/bin/chromium"))
# Debian's Chromium, headless, with nothing that reaches out to the network by itself.
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}


def launch(playwright):
    """Debian's Chromium where installed (root machines: `make test` installs it), else the
    browser Playwright manages (`make test` downloads it where it can)."""
    if CHROMIUM.exists():
        return playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
    if Path(playwright.chromium.executable_path).exists():
        return playwright.chromium.launch(args=LAUNCH_ARGS)
    raise FileNotFoundError(
        f"no Chromium for the browser tests: neither {CHROMIUM} nor Playwright's managed "
        "browser. `make test` installs one (Debian's chromium as root, else `playwright install "
        "chromium`); or install either by hand."
    )


def wait_for_charts(page, timeout_ms: float = 15_000) -> None:
    page.wait_for_function("document.body.dataset.charts", timeout=timeout_ms)
    assert page.evaluate("document.body.dataset.charts") == "ready", "a chart failed to draw"


def measure(page, url: str) -> dict[str, float]:
    """Milliseconds from the start of the navigation (server: time spent in the app)."""
    page.goto(url)
    wait_for_charts(page)
    nav = page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
    return {
        "server": sum(t["duration"] for t in nav["serverTiming"]),
        "first_byte": nav["responseStart"],
        "dom_content_loaded": nav["domContentLoadedEventEnd"],
        "load": nav["loadEventEnd"],
        "charts_drawn": float(page.evaluate("document.body.dataset.chartsMs")),
    }


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with sync_playwright() as pw:
        browser = launch(pw)
        runs = []
        for _ in range(args.runs):
            context = browser.new_context(viewport=VIEWPORT)
            runs.append(measure(context.new_page(), args.url))
            context.close()
        browser.close()
    for name in runs[0]:
        values = [r[name] for r in runs]
        print(
            f"{name:>18}: median {statistics.median(values):7.1f} ms, max {max(values):7.1f} ms "
            f"({', '.join(f'{v:.0f}' for v in values)})"
        )


if __name__ == "__main__":
    main()
