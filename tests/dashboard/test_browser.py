"""The dashboard in headless Chromium: a live Distributed Map, a failed state, a child, hostile content.

Screenshots of the execution graph and of the Map Run are written to docs/img/ (the README shows them) and
checked not to be blank. Every wait is bounded (WebDriverWait); nothing here sleeps for a fixed time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stepmap.endpoints import EndpointContext, build_server
from stepmap.service.runner import StepmapService
from tests.dashboard.browser import chromium, png_is_not_blank
from tests.dashboard.workflows import (
    HOSTILE_NAME,
    distributed_map,
    functions,
    hostile_execution,
    items,
    where,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS_IMG = ROOT / "docs" / "img"
N, FAILED = 400, 40  # items whose n ends in 3 fail


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    with chromium() as d:
        yield d


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    (tmp_path / "s3" / "results").mkdir(parents=True)
    ctx = EndpointContext.from_options(**where(tmp_path))
    with build_server(ctx) as server:
        yield server.url, tmp_path


def _wait(driver: Any, condition: Any, timeout: float = 60) -> Any:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # a refresh may replace an element between finding and reading it: look again
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=ignored).until(condition)


def _css(driver: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, selector))


def _counter(driver: Any, name: str) -> int:
    from selenium.webdriver.common.by import By

    try:
        node = driver.find_element(By.CSS_SELECTOR, f'[data-counter="{name}"] .n')
        return int(node.text)
    except Exception:  # re-rendered between find and read, or not there yet
        return -1


def test_watch_a_distributed_map_live(driver: Any, served: tuple[str, Path]) -> None:
    from selenium.webdriver.common.by import By

    url, state_dir = served
    driver.get(url + "/")
    _wait(driver, lambda d: "No executions" in d.find_element(By.ID, "main").text)

    service = StepmapService(functions=functions(), executor="sync", journal=True, **where(state_dir))
    result: dict[str, Any] = {}
    runner = threading.Thread(
        target=lambda: result.update(
            execution=service.start_execution(distributed_map(), items(N, sleep=0.01), name="live-dmap")
        ),
        daemon=True,
    )
    runner.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the execution is journaled as soon as it starts
        with urllib.request.urlopen(url + "/ui/api/executions?name=live-dmap") as response:
            if json.loads(response.read())["executions"]:
                break
        time.sleep(0.05)

    driver.get(url + "/#/execution/live-dmap")
    _css(driver, "#map-runs a").click()
    _css(driver, "#counters")
    seen_running = False

    def finished(d: Any) -> bool:
        nonlocal seen_running
        seen_running = seen_running or _counter(d, "running") > 0 or 0 < _counter(d, "succeeded") < N - FAILED
        return _counter(d, "succeeded") == N - FAILED and _counter(d, "failed") == FAILED

    _wait(driver, finished, timeout=120)
    assert seen_running, "the counters never showed the run in progress"
    assert _counter(driver, "total") == N and _counter(driver, "pending") == 0
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#result-files a"))
    failures = driver.find_elements(By.CSS_SELECTOR, "#failures tr.failure")
    assert len(failures) == FAILED
    assert "ItemFailed" in failures[0].text
    assert "<b>bold</b>" in failures[0].text  # shown as text, not markup
    assert driver.execute_script("return window.__pwned") is None
    _wait(driver, lambda d: d.find_element(By.ID, "items-chart").find_elements(By.CSS_SELECTOR, "path.line"))
    shot = driver.get_screenshot_as_png()
    assert png_is_not_blank(shot)
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    (DOCS_IMG / "dashboard-map-run.png").write_bytes(shot)

    # open a child execution (a failed item) and read its cause
    failures[0].find_element(By.TAG_NAME, "a").click()
    cause = _css(driver, "#child-cause")
    assert "item 3 is bad" in cause.text
    assert _css(driver, "#child-error").text == "ItemFailed"

    # back to the parent: the failed state's cause, from the graph
    runner.join(timeout=120)
    assert result["execution"].status == "FAILED"
    driver.get(url + "/#/execution/live-dmap")
    _wait(
        driver, lambda d: d.find_elements(By.CSS_SELECTOR, '.node[data-state="Report"][data-status="failed"]')
    )
    driver.find_element(By.CSS_SELECTOR, '.node[data-state="Report"]').click()
    panel = _css(driver, "#state-detail .cause")
    assert "the report found failed items" in panel.text
    assert driver.find_element(By.CSS_SELECTOR, "#state-detail .error-name").text == "ReportFailed"
    fanout = driver.find_element(By.CSS_SELECTOR, '.node[data-state="Fanout"]')
    assert fanout.get_attribute("data-status") == "succeeded"
    # the history table filters like the console's
    rows = driver.find_elements(By.CSS_SELECTOR, "#history tr.event")
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, "event-filter")).select_by_value("errors")
    errors = driver.find_elements(By.CSS_SELECTOR, "#history tr.event")
    assert 0 < len(errors) < len(rows)
    assert all("Failed" in r.get_attribute("data-type") for r in errors)
    driver.execute_script("document.getElementById('graph').scrollIntoView({block: 'center'})")
    assert png_is_not_blank(driver.get_screenshot_as_png())


def test_nested_graph_of_a_run_made_by_the_cli(driver: Any, served: tuple[str, Path]) -> None:
    """`stepmap run` with the same state directory: Map iterations and Parallel branches nested, states
    caught and retried, a click shows the retries; the screenshot is the README's execution graph."""
    from selenium.webdriver.common.by import By

    url, state_dir = served
    example = ROOT / "examples" / "orders"
    done = subprocess.run(
        [sys.executable, "-m", "stepmap.cli", "run", str(example / "workflow.asl.json"),
         "--code", str(example), "--functions", "handlers", "--input", f"@{example / 'input.json'}",
         "--state-dir", str(state_dir), "--name", "orders", "-q"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    driver.get(url + "/#/execution/orders")
    _css(driver, '.node[data-state="Reserve"]')
    status = {
        n.get_attribute("data-state"): n.get_attribute("data-status")
        for n in driver.find_elements(By.CSS_SELECTOR, ".node:not(.start)")
    }
    assert status["Validate"] == "caught" and status["Reserve"] == "retried"
    assert status["Price"] == status["Summarize"] == "succeeded"
    clusters = [c.text for c in driver.find_elements(By.CSS_SELECTOR, ".cluster")]
    assert "Iteration" in clusters and {"Branch 1", "Branch 2", "Branch 3"} <= set(clusters)
    driver.find_element(By.CSS_SELECTOR, '.node[data-state="Reserve"]').click()
    assert "Retries: 1" in _css(driver, "#state-detail .retries").text
    driver.execute_script("document.getElementById('graph').scrollIntoView({block: 'start'})")
    shot = driver.get_screenshot_as_png()
    assert png_is_not_blank(shot)
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    (DOCS_IMG / "dashboard-execution.png").write_bytes(shot)


def test_hostile_content_is_shown_as_text(driver: Any, served: tuple[str, Path]) -> None:
    from selenium.webdriver.common.by import By

    url, state_dir = served
    hostile_execution(state_dir)
    driver.get(url + "/#/execution/hostile")
    node = _css(driver, ".node:not(.start)")
    assert node.get_attribute("data-state") == HOSTILE_NAME
    node.click()
    output = _css(driver, "#state-detail .output")
    assert "<script>window.__pwned=3</script>" in output.text
    assert len(output.text) < 100_000 and "truncated" in output.text
    assert len(_css(driver, "#execution-output").text) < 100_000
    assert driver.execute_script("return window.__pwned") is None
    assert not driver.find_elements(By.CSS_SELECTOR, "#main img, #main script, #main b")
    driver.get(url + "/#/?name=hostile")
    assert _css(driver, "#executions a").text == "hostile"
    # the state machines page, and the hostile machine's definition drawn
    driver.get(url + "/#/state-machines")  # same document: wait for the new view, not the old one's links
    _wait(driver, lambda d: d.find_element(By.TAG_NAME, "h1").text == "State machines")
    _wait(driver, lambda d: d.find_elements(By.LINK_TEXT, "evil"))[0].click()
    _wait(driver, lambda d: d.find_element(By.TAG_NAME, "h1").text == "State machine evil")
    drawn = _css(driver, ".node:not(.start)")
    assert drawn.get_attribute("data-state") == HOSTILE_NAME
    assert driver.execute_script("return window.__pwned") is None
    # the page asked for nothing but its own origin (no CDN)
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(r.startswith(url + "/") for r in resources), resources


def test_works_without_network_and_reports_open_offline(
    driver: Any, served: tuple[str, Path], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    _, state_dir = served
    hostile_execution(state_dir, name="offline")
    from stepmap.dashboard import write_report

    out = write_report(str(state_dir), "offline", str(tmp_path / "report.html"))
    driver.get(Path(out).as_uri())
    _css(driver, ".node:not(.start)").click()
    assert "<b>not bold</b>" in _css(driver, "#state-detail .input").text
    assert driver.execute_script("return window.__pwned") is None
    assert "static report" in driver.find_element(By.ID, "live").text
    # the page asked for nothing but its own origin
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(r.startswith(("file:", "data:")) for r in resources), resources
