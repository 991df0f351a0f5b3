"""The studio in a real browser: headless Chromium (Debian's, with its own chromedriver; nothing is
downloaded) driven by Selenium through the flow a first-time user follows: pick a folder, look at
the config, start training, watch it move without reloading, stop, resume, generate 8 images and
download them, open a latent walk.

Set ARTISTRY_SCREENSHOTS=docs to write docs/studio-*.png (1280x800, and phone-width ones).
Skipped when Chromium is missing, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
TINY = (
    "--ngf 8 --ndf 8 --nz 16 --batch 8 --precision fp32 --n-samples 16 --checkpoint-every 100000000 --sample-every 160"
)
SHOTS = os.environ.get("ARTISTRY_SCREENSHOTS")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM and DRIVER):
        msg = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver; `make browser`)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: {msg}")
        pytest.skip(msg)
    pytest.importorskip("selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common import selenium_manager

    def no_downloads(*args, **kwargs):
        raise AssertionError("selenium-manager was called: it would download a browser or driver")

    original = selenium_manager.SeleniumManager.binary_paths
    selenium_manager.SeleniumManager.binary_paths = no_downloads
    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,800",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.set_window_size(1280, 800)
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()
        selenium_manager.SeleniumManager.binary_paths = original


@pytest.fixture
def studio_url(trained, tmp_path):
    """`artistry studio` as a user starts it, on a free port, over a copy of the trained folder."""
    root = tmp_path / "site"
    shutil.copytree(trained, root)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ARTISTRY_CACHE": str(root / "cache")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "artistry",
            "studio",
            "--runs",
            str(root / "runs"),
            "--data-root",
            str(root / "data"),
            "--port",
            str(port),
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None and time.time() < deadline, proc.stderr.read()
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}", root
    proc.terminate()
    proc.wait(10)
    _kill_trainings(root / "runs" / ".studio" / "jobs")


def _kill_trainings(jobs_dir: Path) -> None:
    import json
    import signal

    for p in jobs_dir.glob("*.run.json"):
        info = json.loads(p.read_text())
        for pid in (info.get("pid"), info.get("runner_pid")):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, TypeError):
                pass


def shot(driver, name: str, phone: bool = False) -> None:
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    if phone:
        driver.set_window_size(390, 844)
        time.sleep(0.3)
    driver.save_screenshot(str(Path(SHOTS) / f"studio-{name}.png"))
    if phone:
        driver.set_window_size(1280, 800)


def wait(driver, what, check, timeout=60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: check(), message=what)


def text(driver, css):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, css).text


def test_first_time_user_flow(browser, studio_url):
    from selenium.webdriver.common.by import By

    url, root = studio_url
    d = browser
    find = lambda css: d.find_element(By.CSS_SELECTOR, css)  # noqa: E731

    # 1. New run: pick the folder, set a tiny model, look at the config, start
    d.get(f"{url}/new")
    wait(d, "the folder list", lambda: d.find_elements(By.CSS_SELECTOR, "a[data-folder=paintings]"))
    find("a[data-folder=paintings]").click()
    wait(d, "the folder to open", lambda: "paintings" in text(d, "#crumbs"))
    find("#name").send_keys("browser")
    find("#recipe").send_keys("classic")
    find("#size").send_keys("32")
    find("#budget").clear()
    find("#budget").send_keys("100000")
    find("#budget-kind").send_keys("steps")
    find("#extra").send_keys(TINY)
    find("#dry-run").click()
    wait(d, "the resolved config", lambda: '"ngf": 8' in text(d, "#config"))
    assert '"size": 32' in text(d, "#config") and '"steps": 100000' in text(d, "#config")
    shot(d, "new-run")
    shot(d, "new-run-phone", phone=True)
    find("#start").click()
    wait(d, "the run page", lambda: "/runs/00001-browser" in d.current_url, timeout=60)

    # 2. Live progress without a reload
    d.execute_script("window.notReloaded = true")
    wait(d, "training to start", lambda: text(d, "#status") == "training")
    wait(d, "images seen to count up", lambda: text(d, "#images") not in ("0", ""))
    first = int(text(d, "#images").replace(",", ""))
    wait(d, "images seen to move on", lambda: int(text(d, "#images").replace(",", "")) > first)
    wait(d, "a loss curve", lambda: d.find_elements(By.CSS_SELECTOR, "#losses polyline"))
    assert d.execute_script("return window.notReloaded") is True
    wait(d, "a sample grid", lambda: d.execute_script("return document.querySelector('#sample').naturalWidth") > 0)
    shot(d, "run-training")

    # 3. Stop (a clean checkpoint), then resume for a few more steps
    find("#stop").click()
    wait(d, "the run to stop", lambda: text(d, "#status") == "stopped")
    assert d.execute_script("return window.notReloaded") is True
    step = int(text(d, "#step").replace(",", ""))
    find("#resume-budget").send_keys(str(step + 30))
    find("#resume").click()
    wait(d, "the resumed run to finish", lambda: text(d, "#status") == "finished", timeout=90)
    wait(d, "the final step", lambda: text(d, "#step").replace(",", "") == str(step + 30))
    assert text(d, "#fraction") == "100%" and text(d, "#budget") == f"{step + 30} steps"
    shot(d, "run")
    shot(d, "run-phone", phone=True)

    # 4. Explore: 8 images, keep one, download them all
    find("#explore").click()
    wait(d, "the explore page", lambda: d.current_url.endswith("/explore"))
    find("#n").clear()
    find("#n").send_keys("8")
    find("#generate").click()
    wait(
        d,
        "8 images",
        lambda: (
            d.execute_script(
                "return [...document.querySelectorAll('#images img')]"
                ".filter(i => i.complete && i.naturalWidth > 0).length"
            )
            == 8
        ),
    )
    find("#images figure .keep").click()
    wait(d, "a kept image", lambda: d.find_elements(By.CSS_SELECTOR, "#kept img"))
    assert list((root / "runs" / "00001-browser" / "kept").glob("*.png"))
    find("#download").click()
    zips = wait(d, "the ZIP download", lambda: [p for p in d.downloads.glob("*.zip")], timeout=30)
    time.sleep(0.5)  # the browser renames the file when it is complete
    assert len(zipfile.ZipFile(zips[0]).namelist()) == 8

    # post-processing shows each image before and after
    find("#bw").click()
    find("#n").clear()
    find("#n").send_keys("4")
    find("#generate").click()
    wait(
        d,
        "4 before/after pairs",
        lambda: (
            d.execute_script(
                "return [...document.querySelectorAll('#images .pair img')]"
                ".filter(i => i.complete && i.naturalWidth > 0).length"
            )
            == 8
        ),
    )

    # 5. A latent walk with a frame slider
    find("#walk-frames").clear()
    find("#walk-frames").send_keys("8")
    find("#walk").click()
    wait(
        d,
        "the first walk frame",
        lambda: d.execute_script("return document.querySelector('#walk-img').naturalWidth") > 0,
    )
    d.execute_script(
        "const s = document.querySelector('#walk-slider'); s.value = 5; s.dispatchEvent(new Event('input'))"
    )
    wait(
        d,
        "frame 6",
        lambda: (
            "i=5" in find("#walk-img").get_attribute("src")
            and d.execute_script(
                "const i = document.querySelector('#walk-img'); return i.complete && i.naturalWidth > 0"
            )
        ),
    )
    assert "frame 6 of 8" in text(d, "#walk-label")
    d.execute_script("window.scrollTo(0, 0)")
    shot(d, "explore")
    shot(d, "explore-phone", phone=True)

    # 6. The runs list and the comparison
    d.get(url)
    cards = d.find_elements(By.CSS_SELECTOR, "article.run")
    assert {c.get_attribute("data-run") for c in cards} == {"00000-tiny", "00001-browser"}
    assert find("article[data-run='00001-browser'] .badge").text == "finished"
    shot(d, "runs")
    shot(d, "runs-phone", phone=True)
    for c in d.find_elements(By.CSS_SELECTOR, "input[name=run]"):
        c.click()
    find("#compare-form button[type=submit]").click()
    wait(d, "the comparison", lambda: len(d.find_elements(By.CSS_SELECTOR, "#compare figure")) == 2)
    wait(
        d,
        "both grids",
        lambda: d.execute_script(
            "return [...document.querySelectorAll('#compare img')].every(i => i.complete && i.naturalWidth > 0)"
        ),
    )
    shot(d, "compare")
    logs = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
    assert not logs, logs  # no script errors, no blocked (CSP) or missing assets
