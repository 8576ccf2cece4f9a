"""Browser scenario of the accountability loop: the 领导接访 and 纪委移送 pages open on
the sample city and show its records, and the supervision office records a referral
from the proposed candidates. Screenshots (1440×900, the first screen) go to
tests/e2e/screenshots/ (or ACCOUNTABILITY_SHOTS, a folder)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.e2e.conftest import BUREAU, SCREENSHOTS, SUPERVISION, open_page, wait_idle

SHOTS = Path(os.environ.get("ACCOUNTABILITY_SHOTS") or SCREENSHOTS)


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1440, "height": 900})
    wait_idle(page)
    (SHOTS / f"{name}.png").write_bytes(page.screenshot(animations="disabled"))


def _no_error(page) -> None:
    assert not page.locator('[data-testid="stException"]').count()
    assert not page.get_by_text("页面出错").count()


def test_reception_page_shows_the_sample_records(page, server):
    open_page(page, server, "receptions", "领导接访", user=BUREAU)
    _no_error(page)
    rate = page.locator('[data-testid="stMetric"]').filter(has_text="接访完成率")
    assert re.search(r"\d+\.\d%", rate.inner_text())
    assert page.get_by_role("heading", name="接访记录").count()
    assert page.get_by_role("heading", name="五个必批").count()
    assert page.locator('[data-testid="stDataFrame"]').count() >= 3
    _shot(page, "accountability-receptions")


def test_a_referral_is_recorded_from_the_candidates(page, server):
    open_page(page, server, "referrals", "纪委移送", user=SUPERVISION)
    _no_error(page)
    typical = page.locator('[data-testid="stMetric"]').filter(has_text="典型案例")
    before = int(re.search(r"(\d+)\s*$", typical.inner_text()).group(1))
    assert before > 0  # the sample city's referrals
    _shot(page, "accountability-referrals")
    page.get_by_label("批准移送的分管领导（姓名或编号）").fill("1")
    page.get_by_label("接收的纪检监察机关").fill("临江县纪委监委")
    page.get_by_role("button", name="确认移送").click()
    page.get_by_text(re.compile(r"已移送 .+，移送记录 #\d+")).wait_for(timeout=60_000)
    wait_idle(page)
    after = int(re.search(r"(\d+)\s*$", typical.inner_text()).group(1))
    assert after == before + 1
    page.get_by_role("tab", name="移送清单").click()
    wait_idle(page)
    assert page.get_by_text("办理中").count() or page.locator('[data-testid="stDataFrame"]').count()
    _no_error(page)
    _shot(page, "accountability-referral-list")
