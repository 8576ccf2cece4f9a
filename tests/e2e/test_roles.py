"""Sign-in, roles and region scope as people meet them in the browser: nothing before
sign-in, each demo role's menu and first page, a county leader's links to another
county or to pages of other roles refused without data, and signing out.
Screenshots (sign-in page, the county leader's overview; desktop and phone) go to
tests/e2e/screenshots/."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.e2e.conftest import (
    MENU_LINKS,
    SCREENSHOTS,
    open_page,
    sign_in,
    sign_in_form,
    sign_out_button,
    submit_sign_in,
    wait_idle,
)
from tests.e2e.test_browser import assert_clean

pytestmark = pytest.mark.e2e

COUNTY = "demo-county"  # 临江县 990121
COUNTY_NAME = "临江县"
OTHER_COUNTY = "990102"  # 云溪区, outside the county leader's scope
OTHER_COUNTY_NAME = "云溪区"

# The menu in the order the sidebar lists it (streamlit_app.MENU), by section.
BOARD = ["总览", "积案热力图", "三色督办", "逐级下钻", "排名", "案件详情"]
READER = [*BOARD, "催办", "领导包案", "领导接访", "纪委移送", "预警预测", "修改密码"]
ROLES = {
    # user: (menu, sections shown, display name, "role · region"; None: looked up)
    "demo-city": (READER, {"看板", "督查", "账号"}, "市领导（演示）", "市领导 · 云溪市"),
    "demo-county": (READER, {"看板", "督查", "账号"}, "临江县领导（演示）", "县领导 · 临江县"),
    "demo-township": (READER, {"看板", "督查", "账号"}, "乡镇干部（演示）", None),
    "demo-supervision": ([*BOARD, "随机抽查", "催办", "领导包案", "领导接访", "纪委移送", "预警预测", "修改密码"], {"看板", "督查", "账号"},
                         "市委督查室（演示）", "督查室 · 云溪市"),
    "demo-bureau": ([*BOARD, "催办", "领导包案", "领导接访", "纪委移送", "预警预测", "数据导入", "设置", "修改密码"], {"看板", "督查", "管理", "账号"},
                    "市信访局（演示）", "信访局 · 云溪市"),
    "demo-admin": (["用户管理", "审计日志", "修改密码"], {"管理", "账号"}, "系统管理员（演示）", "管理员 · —"),
}
SECTIONS = {"看板", "督查", "管理", "账号"}
WRONG = "用户名或密码不正确，请重新输入。"

# Elements that carry case data: none of them may show before sign-in or with a refusal.
DATA = ", ".join(f'[data-testid="{name}"]' for name in (
    "stDataFrame", "stTable", "stMetric", "stVegaLiteChart", "stArrowVegaLiteChart", "stDeckGlJsonChart",
    "stDownloadButton", "stFileUploader",
))


@pytest.fixture
def user() -> str:
    """This module's shared tab (`app`) is the county leader's."""
    return COUNTY


@pytest.fixture(scope="module")
def sample(server, database_url) -> dict[str, str]:
    """What the links below need from the sample city (the server's own database): the
    county leader's first township (the township user's region), and a township and a
    case of another county."""
    queries = {
        "home_township": "SELECT name FROM regions WHERE parent_code = '990121' ORDER BY code LIMIT 1",
        "other_township": f"SELECT code FROM regions WHERE parent_code = '{OTHER_COUNTY}' ORDER BY code LIMIT 1",
        "other_case": f"SELECT case_no FROM cases WHERE county_code = '{OTHER_COUNTY}' ORDER BY case_no LIMIT 1",
    }
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {key: conn.execute(sa.text(query)).scalar_one() for key, query in queries.items()}
    finally:
        engine.dispose()


def menu(page) -> list[str]:
    return [link.inner_text().strip() for link in page.locator(MENU_LINKS).all()]


def sidebar_sections(page) -> set[str]:
    captions = page.locator('[data-testid="stSidebar"] [data-testid="stCaptionContainer"]').all_inner_texts()
    return {text.strip() for text in captions} & SECTIONS


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def english_words(page) -> list[str]:
    """Latin words a reader sees in the main area and the sidebar (icon ligatures such as
    `keyboard_double_arrow_left` are drawn as icons and left out), apart from the
    abbreviations the product uses on purpose."""
    text = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stMain"], [data-testid="stSidebar"]')].map(root => {
            const copy = root.cloneNode(true);
            copy.querySelectorAll('[data-testid="stIconMaterial"], [data-testid="stHeadingActionElements"]')
                .forEach(icon => icon.remove());
            return copy.innerText || copy.textContent;
        }).join('\\n')"""
    )
    allowed = {"Excel", "CSV", "YX", "SHA"}
    return sorted({word for word in re.findall(r"[A-Za-z]{2,}", text)} - allowed)


def assert_sign_in_only(page) -> None:
    """The sign-in form and nothing else: no menu, no account box, no data, no region."""
    assert sign_in_form(page).count() == 1
    assert page.get_by_role("button", name="登录", exact=True).count() == 1
    assert page.locator(MENU_LINKS).count() == 0, f"menu shown before sign-in: {menu(page)}"
    assert sign_out_button(page).count() == 0
    assert page.locator(DATA).count() == 0, "data shown before sign-in"
    text = page.locator("body").inner_text()
    for word in ("云溪", COUNTY_NAME, "统计期间", "总览", "积案"):
        assert word not in text, f"{word!r} shown before sign-in"
    assert_clean(page)


def assert_refused(page, *hidden: str) -> str:
    """A 无权限 refusal and no data (none of the `hidden` names anywhere on the page)."""
    alert = page.locator('[data-testid="stAlert"]').filter(has_text="无权限")
    alert.first.wait_for(timeout=30_000)
    message = alert.first.inner_text().strip()
    assert message.startswith("无权限"), message
    assert page.locator(DATA).count() == 0, f"data shown with the refusal: {main_text(page)!r}"
    text = page.locator("body").inner_text()
    for name in hidden:
        assert name not in text, f"{name!r} shown with the refusal"
    assert_clean(page)
    return message


def screenshot(page, name: str) -> None:
    """A picture of what the viewport shows (the size a person sees, not the whole page)."""
    page.mouse.move(1, page.viewport_size["height"] - 1)
    page.wait_for_timeout(300)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", animations="disabled")


# ---------------------------------------------------------------- before sign-in


def test_nothing_is_shown_before_sign_in(page, server, sample):
    for path in ("", "heatmap", f"drill?region={OTHER_COUNTY}", f"case?case={sample['other_case']}", "users"):
        page.goto(f"{server}/{path}")
        sign_in_form(page).wait_for(timeout=60_000)
        wait_idle(page)
        assert page.get_by_role("heading", name="信访督查看板").count() == 1
        assert_sign_in_only(page)
        assert sample["other_case"] not in page.locator("body").inner_text()


def test_a_wrong_password_is_refused_in_chinese(page, server):
    page.goto(f"{server}/heatmap")
    submit_sign_in(page, "demo-city", "not-the-password")
    error = page.locator('[data-testid="stAlert"]').filter(has_text=WRONG)
    error.wait_for(timeout=30_000)
    wait_idle(page)
    assert "连续输错 5 次，账号将锁定 15 分钟" in error.inner_text()
    assert_sign_in_only(page)
    assert english_words(page) == []  # (one failure locks nothing; the next sign-in clears it)


def test_an_unknown_name_and_a_wrong_password_read_the_same(page, server):
    """The message does not tell whether a name exists."""
    page.goto(server)
    messages = []
    for name in ("demo-township", "no-such-user"):
        submit_sign_in(page, name, "not-the-password")
        error = page.locator('[data-testid="stAlert"]').filter(has_text=WRONG)
        error.wait_for(timeout=30_000)
        wait_idle(page)
        messages.append(error.inner_text().strip())
    assert messages[0] == messages[1]


def test_the_page_menu_is_chinese(page, server):
    """No English menu: toolbarMode = "minimal" leaves Streamlit's ⋮ menu nothing to show."""
    page.goto(server)
    sign_in_form(page).wait_for(timeout=60_000)
    wait_idle(page)
    button = page.locator('[data-testid="stMainMenu"]')
    if button.count():
        button.click()
        popover = page.locator('[data-testid="stMainMenuPopover"]')
        popover.wait_for(timeout=10_000)
        words = re.findall(r"[A-Za-z]{2,}", popover.inner_text())
        page.keyboard.press("Escape")
        assert not words, f"English in the page menu: {words}"


def county_overview_and_screenshots(tab, server, size: str) -> None:
    """Sign in as the county leader at /, with pictures of the sign-in page and the
    overview (`signin-{size}.png`, `county-overview-{size}.png`): Chinese throughout,
    the county's own figures."""
    tab.goto(server)
    sign_in_form(tab).wait_for(timeout=60_000)
    wait_idle(tab)
    assert_sign_in_only(tab)
    assert english_words(tab) == []
    screenshot(tab, f"signin-{size}")
    sign_in(tab, COUNTY)
    tab.get_by_role("heading", name="总览", exact=True).first.wait_for(timeout=60_000)
    wait_idle(tab)
    assert OTHER_COUNTY_NAME not in tab.locator("body").inner_text()
    assert english_words(tab) == []
    screenshot(tab, f"county-overview-{size}")


def test_phone_sign_in_and_county_overview(new_tab, server):
    """On a phone (390×844) the sidebar folds away: the form and the figures fill the screen."""
    tab = new_tab(390, 844)
    county_overview_and_screenshots(tab, server, "390x844")
    assert tab.locator('[data-testid="stMetric"]').count() >= 10
    width = tab.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth")
    assert width <= 390, f"the overview is {width} px wide on a 390 px screen"
    assert_clean(tab)


# ---------------------------------------------------------------- each role's menu and first page


@pytest.mark.parametrize("name", list(ROLES))
def test_each_role_sees_its_menu_and_its_data(new_tab, server, sample, name):
    pages, sections, display, account = ROLES[name]
    account = account or f"乡镇 · {sample['home_township']}"
    tab = new_tab(1440, 900)
    admin = name == "demo-admin"
    if name == COUNTY:  # with pictures of the sign-in page and the overview on a desktop
        county_overview_and_screenshots(tab, server, "1440x900")
    else:  # the administrator has no case data: the user list (see the test below for "/")
        open_page(tab, server, "users" if admin else "", "用户管理" if admin else "总览", user=name)
    assert menu(tab) == pages, f"{name}: menu {menu(tab)}"
    assert sidebar_sections(tab) == sections
    sidebar = tab.locator('[data-testid="stSidebar"]').inner_text()
    assert display in sidebar and account in sidebar, sidebar
    if admin:
        users = tab.locator('[data-testid="stDataFrame"]').first.text_content()
        assert all(demo in users for demo in ROLES), users
        assert "统计期间" not in sidebar, "the administrator is shown the case filters"
        assert tab.locator('[data-testid="stMetric"]').count() == 0
    else:
        region = account.split(" · ")[1]
        caption = tab.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]').first.inner_text()
        assert caption.endswith(f"· {region}"), caption
        total = tab.locator('[data-testid="stMetric"]').filter(has_text="信访总量（件）")
        assert int(total.locator('[data-testid="stMetricValue"]').inner_text().replace(",", "")) > 0
        assert "统计期间" in sidebar
    assert_clean(tab)
    # Every role changes its own password on 修改密码 (only the form is checked here).
    tab.locator(MENU_LINKS).filter(has_text=re.compile("^修改密码$")).click()
    tab.get_by_role("heading", name="修改密码", exact=True).first.wait_for(timeout=30_000)
    wait_idle(tab)
    assert tab.get_by_label("当前密码", exact=True).count() == 1
    assert menu(tab) == pages
    assert_clean(tab)


def test_the_administrator_lands_on_the_user_list(page, server):
    """"/" is a home page of its own, which follows the role once signed in."""
    page.goto(server)
    sign_in(page, "demo-admin")
    page.get_by_role("heading", name="用户管理", exact=True).first.wait_for(timeout=30_000)
    assert page.get_by_role("heading", name="用户管理", exact=True).count() == 1
    assert page.locator('[data-testid="stAlert"]').filter(has_text="无权限").count() == 0


def test_the_administrator_is_refused_case_data(page, server):
    page.goto(f"{server}/heatmap")
    sign_in(page, "demo-admin")
    message = assert_refused(page, "云溪市", COUNTY_NAME)
    assert message.startswith("无权限：管理员角色不能查看案件数据"), message
    assert "统计期间" not in page.locator('[data-testid="stSidebar"]').inner_text()


def test_the_administrator_downloads_the_user_list(page, server):
    open_page(page, server, "users", "用户管理", user="demo-admin")
    with page.expect_download(timeout=10_000) as info:
        page.get_by_role("button", name="下载 CSV").first.click()
    assert "demo-county" in open(info.value.path(), "rb").read().decode("utf-8-sig")


# ---------------------------------------------------------------- refusals (the county leader)


# id, link ({…}: codes of `sample`), title of the page linked to
REFUSED = [
    ("drill-region", "drill?region={other_county}", "逐级下钻"),
    ("overview-county", "?county={other_county}", "总览"),
    ("heatmap-township", "heatmap?township={other_township}", "积案热力图"),
    ("case", "case?case={other_case}", "案件详情"),
    ("data_import", "data_import", "数据导入"),
    ("spot_check", "spot_check", "随机抽查"),
    ("users", "users", "用户管理"),
]


@pytest.mark.parametrize("link,title", [pytest.param(link, title, id=name) for name, link, title in REFUSED])
def test_county_leader_is_refused_other_regions_and_pages(app, server, sample, link, title):
    """A link to another county's region or case, or to a page of another role: a
    refusal that names none of the other county's data, and the menu still works."""
    app.goto(f"{server}/{link.format(other_county=OTHER_COUNTY, **sample)}")
    sign_in(app, COUNTY)
    message = assert_refused(app, OTHER_COUNTY_NAME)
    if "=" in link:  # a region or case outside the scope
        assert "不在您的查看范围" in message, message
    else:  # a page of another role
        assert "县领导角色不能" in message, message
        assert app.get_by_role("heading", name=title, exact=True).count() == 0
    assert menu(app) == ROLES[COUNTY][0]  # the refused page is not added to the menu
    if link.startswith("?county="):  # "请从左侧菜单重新进入": the menu leads to the county's own figures
        app.locator(MENU_LINKS).filter(has_text=re.compile("^总览$")).click()
        app.locator('[data-testid="stMetric"]').first.wait_for(timeout=30_000)
        wait_idle(app)
        assert app.locator('[data-testid="stAlert"]').filter(has_text="无权限").count() == 0
        caption = app.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]').first.inner_text()
        assert caption.endswith(f"· {COUNTY_NAME}"), caption
        assert_clean(app)


# ---------------------------------------------------------------- signing out


def test_sign_out_returns_to_the_sign_in_form(page, server):
    open_page(page, server, "", "总览", user=COUNTY)
    page.locator(MENU_LINKS).filter(has_text=re.compile("^三色督办$")).click()
    page.get_by_role("heading", name="三色督办", exact=True).first.wait_for(timeout=60_000)
    wait_idle(page)
    sign_out_button(page).click()
    sign_in_form(page).wait_for(timeout=30_000)
    wait_idle(page)
    page.get_by_text("已退出登录。").wait_for()
    assert_sign_in_only(page)
    screenshot(page, "signed-out")
    page.go_back()  # to the overview in the browser's history: still signed out
    page.wait_for_url(re.compile(r"/(overview)?$"))
    wait_idle(page)
    assert_sign_in_only(page)
    page.reload()
    sign_in_form(page).wait_for(timeout=30_000)
    wait_idle(page)
    assert_sign_in_only(page)
