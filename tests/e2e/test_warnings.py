"""预警预测 in the browser: a county leader sees this morning's warnings of the county
(the sample city's surges) and the clearance forecast with the counties that miss
their target first; the overview links there; the bureau downloads the month's
bulletin from the rankings page in one click. Screenshots go to tests/e2e/screenshots/."""

from __future__ import annotations

import io

import docx
import pytest
import sqlalchemy as sa

from dashboard import db
from dashboard.models import early_warnings, regions
from tests.e2e.conftest import BUREAU, SCREENSHOTS, open_page, wait_idle
from tests.e2e.test_browser import assert_clean

pytestmark = pytest.mark.e2e

COUNTY = "demo-county"  # 临江县 990121


def _county_warnings(database_url: str) -> list[str]:
    engine = db.make_engine(database_url)
    with engine.connect() as conn:
        names = conn.execute(sa.select(regions.c.name).select_from(
            early_warnings.join(regions, regions.c.code == early_warnings.c.region_code))
            .where(early_warnings.c.county_code == "990121")).scalars().all()
        others = conn.execute(sa.select(regions.c.name).select_from(
            early_warnings.join(regions, regions.c.code == early_warnings.c.region_code))
            .where(early_warnings.c.county_code != "990121")).scalars().all()
    engine.dispose()
    return sorted(set(names)), sorted(set(others) - set(names))


def test_a_county_leader_sees_the_warnings_and_the_forecast(new_tab, server, database_url):
    own, others = _county_warnings(database_url)
    assert own, "the sample city raises warnings in 临江县 on its first run"
    page = new_tab(1440, 900)
    open_page(page, server, "overview", "总览", user=COUNTY)
    link = page.get_by_role("link", name="今日预警")
    assert link.count() and "条" in link.first.inner_text()
    link.first.click()
    page.get_by_role("heading", name="预警预测", exact=True).wait_for(timeout=60_000)
    wait_idle(page)
    assert_clean(page)
    body = page.locator("body").inner_text()
    for name in own:
        assert f"临江县{name}" in body
    for name in others:  # other counties' warnings are not shown
        assert name not in body
    assert "推送给本地区的预警" in body
    page.screenshot(path=str(SCREENSHOTS / "warnings_county.png"), full_page=True)
    page.get_by_role("tab", name="积案清零预测").click()
    wait_idle(page)
    body = page.locator("body").inner_text()
    assert "预计清零" in body and "临江县" in body and "云溪区" not in body
    page.screenshot(path=str(SCREENSHOTS / "forecast_county.png"), full_page=True)


def test_the_bureau_sees_counties_missing_their_target_first(new_tab, server):
    page = new_tab(1440, 900)
    open_page(page, server, "warnings", "预警预测", user=BUREAU)
    assert page.get_by_role("button", name="发布今日预警").count() == 1
    page.get_by_role("tab", name="积案清零预测").click()
    wait_idle(page)
    alert = page.locator('[data-testid="stAlert"]').filter(has_text="将超过清零目标").first.inner_text()
    table = page.locator('[data-testid="stDataFrame"]').last
    table.wait_for()
    assert "县" in alert or "区" in alert
    assert_clean(page)


def test_the_bureau_downloads_the_months_bulletin(new_tab, server):
    page = new_tab(1440, 900)
    open_page(page, server, "rankings", "排名", user=BUREAU)
    button = page.get_by_role("button", name="月度通报（Word）")
    button.first.wait_for(timeout=60_000)
    label = button.first.inner_text()
    with page.expect_download(timeout=120_000) as info:
        button.first.click()
    content = open(info.value.path(), "rb").read()
    document = docx.Document(io.BytesIO(content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "云溪市信访工作月度通报" in text
    month = label.split()[1] if len(label.split()) > 1 else ""
    assert info.value.suggested_filename.endswith(".docx") and month in info.value.suggested_filename
    assert len(document.tables) >= 3 and len(document.inline_shapes) >= 1
