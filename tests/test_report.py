"""`grader report DIR`: one self-contained HTML page with server-side plots, opened in headless Chromium.

The grade folder is built from rows made by the real score stage (no grading run needed). Chromium (Debian's
`chromium`, installed by .ci/run) dumps the DOM it rendered and takes a screenshot, kept in the test's tmp dir.
The plots must be there in the DOM and on screen: the page with plots has far more plot-coloured pixels than the
same page rendered without them.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from report_data import a_class
from support import ROOT, VENV_BIN, run, tail

from grader.pipeline.write import write_csv, write_result
from grader.report.class_report import build_report, report_html
from grader.report.feedback import feedback_path, write_feedback
from grader.report.plots import OK

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WINDOW = (1280, 2000)


def chromium(profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "Chromium is missing: `apt-get install chromium` (.ci/run installs it)"
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )


def screenshot(page: Path, png: Path, profile: Path) -> Image.Image:
    width, height = WINDOW
    completed = chromium(profile, f"--screenshot={png}", f"--window-size={width},{height}", page.as_uri())
    assert png.is_file(), completed.stderr[-2000:]
    return Image.open(png).convert("RGB")


def plot_pixels(image: Image.Image) -> int:
    """Pixels of the plots' bar colour (the CSS uses it too, for thin bars: hence the comparison)."""
    target = np.array([int(OK[i : i + 2], 16) for i in (1, 3, 5)])
    pixels = np.asarray(image, dtype=np.int16)
    return int((np.abs(pixels - target).max(axis=2) <= 12).sum())


@pytest.fixture(scope="module")
def grade_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("grades")
    results = a_class()
    for result in results:
        write_result(out, result)
        if result.extra_data.student_id != "student07":  # a row whose feedback page was not written
            write_feedback(feedback_path(out, result), result)
    write_csv(out, results)
    return out


@pytest.fixture(scope="module")
def report_page(grade_dir: Path) -> Path:
    completed = run([VENV_BIN / "grader", "report", grade_dir], cwd=ROOT)
    assert completed.returncode == 0, tail(completed)
    return grade_dir / "report.html"


def test_report_is_one_self_contained_page(report_page: Path):
    page = report_page.read_text(encoding="utf-8")
    assert page.count("<svg") == 6  # per chapter: score distribution, points per exercise, pass rate per check
    for forbidden in ("<script", "<link", "<img", "<iframe", "@import"):
        assert forbidden not in page, forbidden
    fetched = re.findall(r"""(?:src|<(?!a\b)[^>]*href)=["'](?!#)([^"']+)|url\((?!#)([^)]*)\)""", page)
    assert fetched == [], fetched  # only in-page references; SVG namespaces are not fetched
    links = re.findall(r"""<a href=["'](?!#)([^"']+)""", page)  # links to feedback pages are followed, not fetched
    assert links and all(re.fullmatch(r"feedback/[0-9a-z-]+/[0-9a-z_]+\.html", link) for link in links), links
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "duplicate ids: a plot's clip path could clip another plot"
    unreferenced = [name for name in ids if f"url(#{name})" not in page and f'href="#{name}"' not in page]
    assert unreferenced == ["errors"], unreferenced  # every id is a link or clip target (the errors anchor aside)


def test_report_content(report_page: Path, grade_dir: Path):
    text = html.unescape(report_page.read_text(encoding="utf-8"))
    report = build_report(a_class(), str(grade_dir), plots=False)
    for chapter in report.chapters:
        assert chapter.graded == 12 and chapter.errors == 1
        rates = [c.rate for c in chapter.checks]
        assert rates == sorted(rates), "hardest checks first"
    hardest = report.chapters[0].checks[0]
    assert hardest.common_failure in text and f"{hardest.passed} / {hardest.graded}" in text
    assert "not a notebook, the file is not valid JSON" in text  # why a submission errored
    assert "Could not be graded" in text and "not counted as zeros" in text
    assert "ex3-solution" in text and "NameError" in text  # the cells that raised
    assert "Late work" in text and "student03" in text


def test_report_roster(report_page: Path, grade_dir: Path):
    """Every submission has its row: score, real lateness, the cells that raised and were put back, a link to its
    feedback; each check lists who failed it, each raising cell whose it was."""
    page = report_page.read_text(encoding="utf-8")
    roster = html.unescape(page.split('<h2 id="students">', 1)[1])
    rows = re.findall(r'<tr><td class="nowrap">(student\d\d|broken)</td><td class="nowrap">([0-9a-z-]+)</td>', roster)
    assert len(rows) == len(a_class()) == 26
    assert "5 h" in roster and "40 s" in roster and "0.0" not in roster  # lateness as it was, not "0.0 hours"
    assert "edited</span> ex1-check" in roster and "deleted</span> ex2-check" in roster
    assert "not graded: broken.ipynb: not a notebook" in roster
    assert 'href="feedback/00-orientation/student00.html"' in page
    assert (grade_dir / "feedback" / "00-orientation" / "student00.html").is_file()
    assert "feedback/00-orientation/student07.html" not in page  # no link to a page that is not there
    report = build_report(a_class(), str(grade_dir), plots=False)
    hardest = report.chapters[0].checks[0]
    assert hardest.failed_by and len(hardest.failed_by) == hardest.graded - hardest.passed
    assert ", ".join(hardest.failed_by) in html.unescape(page)
    (raised,) = [row for row in report.cell_errors if row.assignment == "00-orientation"]
    assert raised.exercise == "ex3" and raised.students == ["student00", "student04", "student08"]
    assert "student00, student04, student08" in html.unescape(page)


def test_report_renders_its_plots_in_headless_chromium(report_page: Path, grade_dir: Path, tmp_path: Path):
    dom = chromium(tmp_path / "profile-dom", "--dump-dom", report_page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    figures = re.findall(r'<figure class="plot[^"]*" data-plot="([^"]+)">\s*<svg', dom.stdout)
    assert sorted(figures) == sorted(["score-distribution", "exercise-points", "pass-rate"] * 2)
    assert dom.stdout.count("<path") > 50  # the bars, axes and ticks are in the rendered DOM

    with_plots = screenshot(report_page, tmp_path / "report.png", tmp_path / "profile-a")
    assert with_plots.size == WINDOW
    report = build_report(a_class(), str(grade_dir), plots=False)
    bare_page = tmp_path / "report-without-plots.html"
    bare_page.write_text(report_html(report), encoding="utf-8")
    without_plots = screenshot(bare_page, tmp_path / "report-without-plots.png", tmp_path / "profile-b")
    drawn, baseline = plot_pixels(with_plots), plot_pixels(without_plots)
    print(f"plot-coloured pixels: {drawn} with plots, {baseline} without; screenshot {tmp_path / 'report.png'}")
    assert drawn > baseline + 20_000, (drawn, baseline)


def test_report_refuses_a_folder_without_results(tmp_path: Path):
    completed = run([VENV_BIN / "grader", "report", tmp_path], cwd=ROOT)
    assert completed.returncode == 2 and "no results/ folder" in " ".join(completed.stderr.split())
