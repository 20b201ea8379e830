"""A real headless browser for the page tests: Debian's chromium driven through chromium-driver by selenium.

Nothing is downloaded at run time: the browser and its driver are the system's (scripts/test
installs the Debian packages when they are missing), named by path so selenium never looks for
them itself. A missing browser fails the test with the reason; it never skips.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("NEWSWIRE_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("NEWSWIRE_CHROMEDRIVER", "/usr/bin/chromedriver"))

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--lang=en-US",
)


def headless_chromium(profile: Path, width: int = 1280, height: int = 1000):
    """A selenium Chrome driver on the system chromium, with an empty profile in `profile`."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        pytest.fail(
            f"the page tests need Debian's chromium and chromium-driver ({', '.join(missing)} missing): "
            "scripts/test installs them with apt-get install --no-install-recommends chromium chromium-driver",
            pytrace=False,
        )
    os.environ["SE_OFFLINE"] = "true"  # selenium's driver manager, should anything wake it, must not go online
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(profile.parent / "chromedriver.log"))
    try:
        return webdriver.Chrome(options=options, service=service)
    except Exception as e:  # selenium's errors carry the driver's own explanation
        pytest.fail(f"chromium did not start: {type(e).__name__}: {e}", pytrace=False)
