"""The results pages and the static site, from the smoke pipeline's outputs, in headless
Chromium (Debian's chromium and chromium-driver: `make browser`)."""
import importlib
import re
import shutil

import pandas as pd
import pytest

from rlrepro import params, plots, site
from rlrepro.experiments import report

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def test_the_pipeline_writes_a_results_page_per_experiment(smoke_repro):
    results = smoke_repro / "results"
    names = params.experiments()
    assert {p.stem for p in results.glob("*.md")} == {*names, "README", "scorecard"}
    index = (results / "README.md").read_text()
    for name in names:
        page = (results / f"{name}.md").read_text()
        assert f"[{report.title(smoke_repro / 'notebooks' / f'{name}.py')}]({name}.md)" in index
        assert "## Claims (" in page and "## Analysis (computed from this run)" in page
        assert "Profile **smoke**" in page and "## Deviations from the original" in page
        for figure in re.findall(rf"\]\(({name}/[^)]+\.png)\)", page):
            assert (results / figure).is_file(), figure
    assert "| stale |" not in index, "dvc repro just ran every stage"
    for name in names:  # the points `dvc plots show` draws, beside each learning curve
        for stem in getattr(importlib.import_module(f"rlrepro.experiments.{name}"), "CURVES", {}):
            points = pd.read_csv(smoke_repro / "data/figures" / name / f"{stem}.csv")
            assert list(points.columns) == list(plots.CURVE_COLUMNS) and len(points) >= 2, name
            assert (points.low <= points.value + 1e-6).all(), name
            assert (points.value <= points.high + 1e-6).all(), name
    sizes = [f.stat().st_size for f in results.rglob("*.png")]
    assert max(sizes) <= report.FIGURE_BYTES and sum(sizes) <= 15e6


@pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs Debian's chromium and "
                    "chromium-driver (`make browser` installs them)")
def test_the_site_opens_from_files_without_errors_and_shows_every_image(smoke_repro, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    out = tmp_path / "site"
    pages = site.build(smoke_repro, out)
    written = {p.relative_to(out).as_posix() for p in pages}
    names = params.experiments()
    assert written == {"index.html", "scorecard.html", *(f"{n}.html" for n in names),
                       *(f"notebooks/{n}.html" for n in names)}
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    shown = {"png": 0, "gif": 0}
    try:
        for page in pages:
            driver.get(page.as_uri())
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert not errors, f"{page.name}: {errors}"
            images = driver.execute_script(
                "return Array.from(document.images).map(i => [i.currentSrc.slice(0, 40), "
                "i.complete && i.naturalWidth > 0])")
            broken = [src for src, ok in images if not ok]
            assert not broken, f"{page.name}: images not displayed: {broken}"
            for src, _ in images:
                shown["gif" if "gif" in src else "png"] += 1
            links = driver.execute_script(
                "return Array.from(document.links).map(a => a.getAttribute('href'))")
            for href in links:
                if not href.startswith(("http", "#", "mailto:")):
                    assert (page.parent / href.split("#")[0]).is_file(), f"{page.name}: {href}"
            assert "nav" in driver.page_source and len(links) >= len(names) + 2
        driver.get((out / "index.html").as_uri())
        driver.save_screenshot(str(tmp_path / "index.png"))
    finally:
        driver.quit()
    assert shown["png"] >= len(names) and shown["gif"] >= 5
    assert not any(src.startswith(("http:", "https:", "//")) for p in pages
                   for src in re.findall(r'<(?:script|img|link)[^>]+(?:src|href)="([^"]+)"',
                                         p.read_text())), "a page loads something from the network"
