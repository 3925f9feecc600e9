"""Swagger UI in a real browser: "Try it out" then "Execute" on every operation, as published.

Debian's Chromium, driven by Selenium through the chromedriver of the same build (no
browser or driver is ever downloaded), opens /swagger on the embedded stack, enters the
admin token in "Authorize", and on each operation clicks "Try it out" and "Execute" with
whatever the document fills in: every answer must be a 2xx. This is what the examples
(handler.parameters) are for: a list as an array Swagger UI can send, a measure to pick
from an enum, no two forms of one filter at once.

Without chromium and chromium-driver the test is skipped with one line (tests/conftest.py);
CI installs both (.ci/run) and requires them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from local.emulator import EmulatorConfig
from local.stack import EmbeddedStack, StackConfig
from tests.conftest import Browser

# Headless, and nothing of its own on the network: this machine reaches only registries.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,2000",
)
WAIT_SECONDS = 60


@pytest.fixture(scope="module")
def stack() -> Iterator[EmbeddedStack]:
    config = StackConfig(port=0, emulator=EmulatorConfig(latency_ms=0), admin_token="swagger-ui")
    with EmbeddedStack(config) as running:
        yield running


@pytest.fixture(scope="module")
def chromium(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = browser.chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    service = Service(executable_path=browser.chromedriver, log_output=str(_log(tmp_path_factory)))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def _log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chromedriver") / "chromedriver.log"


def test_every_operation_answers_2xx_with_what_swagger_ui_fills_in(
    stack: EmbeddedStack, chromium: WebDriver
) -> None:
    chromium.get(f"{stack.url}/swagger")
    wait = WebDriverWait(chromium, WAIT_SECONDS)
    wait.until(ready.presence_of_all_elements_located((By.CSS_SELECTOR, ".opblock")))
    authorize_admin(chromium, wait, stack.admin_token)
    operations = chromium.find_elements(By.CSS_SELECTOR, ".opblock")
    published = stack_operations(stack)
    assert len(operations) == len(published), "Swagger UI shows every published operation"
    answered: dict[str, str] = {}
    for block in operations:
        answered[operation_id(block)] = execute(chromium, wait, block)
    assert set(answered) == published
    refused = {op: status for op, status in answered.items() if not status.startswith("2")}
    assert not refused, f"Swagger UI's default requests that were not 2xx: {refused}"


def stack_operations(stack: EmbeddedStack) -> set[str]:
    document = requests.get(f"{stack.url}/swagger?format=json", timeout=30).json()
    return {
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }


def operation_id(block: WebElement) -> str:
    # Swagger UI ids each block `operations-<tag>-<operationId>`.
    return str(block.get_attribute("id")).split("-", 2)[2]


def authorize_admin(chromium: WebDriver, wait: WebDriverWait[WebDriver], token: str) -> None:
    chromium.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize").click()
    modal = wait.until(ready.visibility_of_element_located((By.CSS_SELECTOR, ".modal-ux")))
    for section in modal.find_elements(By.CSS_SELECTOR, ".auth-container"):
        if "adminToken" in section.text:
            section.find_element(By.CSS_SELECTOR, "input").send_keys(token)
            section.find_element(By.CSS_SELECTOR, "button.authorize").click()
    modal.find_element(By.CSS_SELECTOR, "button.btn-done").click()
    wait.until(ready.invisibility_of_element_located((By.CSS_SELECTOR, ".modal-ux")))


def execute(chromium: WebDriver, wait: WebDriverWait[WebDriver], block: WebElement) -> str:
    """Open the operation, "Try it out", "Execute"; the status Swagger UI shows."""
    chromium.execute_script("arguments[0].scrollIntoView()", block)
    block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(lambda _: block.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
    block.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
    wait.until(lambda _: block.find_elements(By.CSS_SELECTOR, ".execute"))
    block.find_element(By.CSS_SELECTOR, ".execute").click()
    status = wait.until(
        lambda _: block.find_elements(
            By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status"
        )
    )
    return str(status[0].text.split()[0])
