"""Every page through Streamlit's AppTest on the fixture city: no exception, and the
figures shown equal the fixture's hand-computed figures (see tests/fixture_city.py)."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.fixture_city import A2
from tests.signin import as_user

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
TIMEOUT = 60
DRAW_BUTTON = "FormSubmitter:draw_form-抽取"


def _open(page: str | None = None, user: str = "bureau", **query) -> AppTest:
    """A fresh session signed in as `user` (bureau: whole city, every view page, data
    import and settings; the spot-check page needs the supervision office's "draw")."""
    at = as_user(AppTest.from_file(APP, default_timeout=TIMEOUT), user)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _shown(text: str) -> str:
    """A message as the browser shows it: pages escape punctuation from Markdown."""
    return re.sub(r"\\(.)", r"\1", text)


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _case_tables(at: AppTest) -> list:
    """The case lists on the page (a styled table shows its underlying frame)."""
    frames = [getattr(f.value, "data", f.value) for f in at.dataframe]
    return [frame for frame in frames if "信访件编号" in frame.columns]


def _table_with(at: AppTest, column: str):
    """The first table on the page that has `column`."""
    return next(f for f in (getattr(t.value, "data", t.value) for t in at.dataframe) if column in f.columns)


def test_overview_shows_fixture_figures(app_env):
    at = _open()
    assert at.title[0].value == "总览"
    shown = _metrics(at)
    assert shown["信访总量（件）"] == "10"
    assert shown["网上信访占比"] == "60.0%"
    assert shown["及时受理率"] == "87.5%"
    assert shown["按期办结率"] == "80.0%"
    assert shown["满意率"] == "75.0%"
    assert shown["参评率"] == "80.0%"
    assert shown["积案化解率"] == "40.0%"
    assert shown["未化解积案（件）"] == "3"
    assert shown["集体访"] == "1 批"
    assert shown["越级访（赴省 / 进京）"] == "1 / 1 批"
    # B05 is yellow: its handling deadline (1 day left) comes before its clearance target
    assert (shown["红色件数"], shown["黄色件数"], shown["绿色件数"]) == ("3", "2", "3")
    top = at.dataframe[0].value
    assert top["township_name"].tolist() == ["东门街道", "西门街道", "北河乡"]


def test_sidebar_county_filter_narrows_figures(app_env):
    at = _open()
    at.sidebar.selectbox(key="filter_county").set_value("880102").run()
    assert not at.exception
    shown = _metrics(at)
    assert shown["信访总量（件）"] == "4"
    assert (shown["红色件数"], shown["黄色件数"], shown["绿色件数"]) == ("2", "0", "1")


def test_heatmap_lists_selected_township(app_env):
    at = _open("pages/heatmap.py")
    assert at.title[0].value == "积案热力图"
    at.selectbox(key="heatmap_township").set_value(A2).run()
    assert not at.exception
    assert _case_tables(at)[-1]["信访件编号"].tolist() == ["B02"]


def test_heatmap_deep_link_to_township(app_env):
    at = _open("pages/heatmap.py", township=A2)
    assert _case_tables(at)[-1]["信访件编号"].tolist() == ["B02"]


def test_supervision_lists_open_cases(app_env):
    at = _open("pages/supervision.py")
    assert at.title[0].value == "三色督办"
    # Red and yellow are shown by default, most urgent first.
    assert _case_tables(at)[0]["信访件编号"].tolist() == ["B02", "C04", "C08", "B05", "C06"]
    at.multiselect(key="supervision_colors").set_value([]).run()
    table = _case_tables(at)[0]
    # B02 and B05 are still in handling: their handling deadlines (2025-08-01, 2026-07-01)
    # come before their clearance targets; B01 (closed, unresolved) runs on its target.
    assert table["信访件编号"].tolist() == ["B02", "C04", "C08", "B05", "C06", "C07", "C05", "B01"]
    assert table["督办颜色"].tolist() == ["红色", "红色", "红色", "黄色", "黄色", "绿色", "绿色", "绿色"]
    # the status leads every case list; overdue in words, never a negative count
    assert table.columns[:4].tolist() == ["督办颜色", "剩余/超期", "包案领导", "已历时"]
    assert table["剩余/超期"].tolist() == ["已超期 333 天", "已超期 20 天", "已超期 5 天", "剩余 1 天", "剩余 3 天",
                                       "剩余 10 天", "剩余 20 天", "剩余 92 天"]
    at.text_input(key="supervision_unit").input("北河").run()
    assert _case_tables(at)[0]["信访件编号"].tolist() == ["C08", "B05", "C07"]


def test_spot_check_draws_and_history_reopens(app_env):
    at = _open("pages/spot_check.py", user="supervisor")
    assert any("**3**" in m.value for m in at.markdown)  # B01 B02 B05 are candidates
    assert "draw_seed" not in [t.key for t in at.text_input]  # nobody types a seed
    at.number_input(key="draw_n").set_value(2)
    at.radio(key="draw_method").set_value("stratified")
    at.button(key=DRAW_BUTTON).click().run()
    assert not at.exception
    assert any("已抽取并保存为抽查记录 #1" in s.value for s in at.success)
    first = _case_tables(at)[0]["信访件编号"].tolist()
    assert len(first) == 2 and "B05" in first
    seed = _metrics(at)["随机种子"]
    assert len(seed) == 39 and seed.count("-") == 7  # generated: 128 bits in groups of four

    # A second draw (another generated seed), then reopen the first from history.
    at.button(key=DRAW_BUTTON).click().run()
    assert any("抽查记录 #2" in s.value for s in at.success)
    assert _metrics(at)["随机种子"] != seed
    at.selectbox(key="opened_draw").set_value(1).run()
    assert not at.exception
    assert _case_tables(at)[0]["信访件编号"].tolist() == first

    # A fresh session opened on the shared link ?draw=1 shows the same cases.
    linked = _open("pages/spot_check.py", user="supervisor", draw="1")
    assert _case_tables(linked)[0]["信访件编号"].tolist() == first


def test_reminders_page_queue_and_recording(app_env):
    at = _open("pages/reminders.py")
    assert at.title[0].value == "催办"
    assert "提前到此前最后一个工作日" in at.caption[0].value
    shown = _metrics(at)
    # see tests/test_reminders.py: on Tue 30 Jun head letters to B05 and C06; B02, C04
    # (handling) and C08 (acceptance) overdue
    assert shown["发函催办主要负责人（前5日）"] == "2 件"
    assert shown["超期督办（每日）"] == "3 件"
    assert shown["经办人员催办（前15日）"] == "0 件"
    table = _table_with(at, "今日已登记")
    assert table["信访件编号"].tolist() == ["B02", "C04", "C08", "B05", "C06"]
    assert table["期限类型"].tolist() == ["办理期限", "办理期限", "受理期限", "办理期限", "办理期限"]
    assert table["今日已登记"].tolist() == ["否"] * 5
    at.button(key="record_reminders").click().run()
    assert not at.exception
    assert _table_with(at, "今日已登记")["今日已登记"].tolist() == ["是"] * 5
    assert any("已全部登记" in s.value for s in at.success)


def test_reminders_page_on_a_rest_day(app_env, monkeypatch):
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-07-04")  # a Saturday
    at = _open("pages/reminders.py")
    assert any("今天是休息日" in i.value and "2026年07月06日" in i.value for i in at.info)
    # No button on the page (the sidebar has only "sign out"), no queue figures.
    assert not at.main.button and not [m for m in at.metric if m.label.startswith("超期督办")]
    assert [b.key for b in at.sidebar.button] == ["signout"]


def test_settings_page_assigns_presets_and_color_rules(app_env):
    import datetime as dt

    at = _open("pages/settings.py")
    assert at.title[0].value == "设置"
    years = _table_with(at, "已导入天数")
    assert years.set_index("年份").loc[2026, "来源"] == "国务院办公厅公布的安排（系统内置）"
    assert years.set_index("年份").loc[2027, "来源"].startswith("未导入")
    presets = _table_with(at, "复查、复核").set_index("代码")
    assert presets.loc["national", "复查、复核"] == "30 日"

    at.selectbox(key="assign_region").set_value("880121")
    at.selectbox(key="assign_preset").set_value("tongling-210")
    at.date_input(key="assign_from").set_value(dt.date(2026, 6, 1))
    at.button(key="FormSubmitter:assign_form-保存并重新计算期限").click().run()
    assert not at.exception
    # open cases of 乙县 registered from 1 June: C06 C07 C08 (C05, B05 registered in May)
    notice = _shown(at.success[0].value)
    assert "自 2026-06-01 起" in notice and "3 件未办结案件的期限已重新计算" in notice
    assignments = _table_with(at, "办理程序")
    assert assignments[["区划", "办理程序", "规则", "生效日期", "状态"]].values.tolist() == [
        ["乙县", "全部程序", "铜陵“210”一般事项", dt.date(2026, 6, 1), "现行"]]

    at.selectbox(key="color_region").set_value("880121").run()
    at.number_input(key="color_days").set_value(1)
    at.number_input(key="color_share").set_value(100)
    at.button(key="FormSubmitter:color_form-保存三色规则").click().run()
    assert not at.exception
    rules = _table_with(at, "黄色：剩余天数 ≤").set_index("区划")
    assert rules.loc["乙县", "黄色：剩余天数 ≤"] == 1
    assert rules.loc["乙县", "来源"] == "本县区设定"
    assert rules.loc["甲区", "来源"] == "沿用全市默认"


def test_settings_page_edits_a_preset(app_env):
    at = _open("pages/settings.py")
    at.selectbox(key="edit_preset").set_value("national").run()
    at.selectbox(key="edit_limit").set_value("handling").run()
    assert at.number_input(key="edit_days").value == 60  # the current limit is shown
    assert at.radio(key="edit_unit").value == "calendar"
    at.number_input(key="edit_days").set_value(30)
    at.button(key="FormSubmitter:edit_form-保存并重新计算未办结案件").click().run()
    assert not at.exception
    # the fixture's hand-set deadlines: every open case is recomputed (C04 C05 C06 C07 C08
    # B02 B05); closed ones keep theirs
    notice = _shown(at.success[0].value)
    assert "办理时限为 30 日" in notice and "7 件未办结案件的期限已重新计算" in notice
    assert "已办结案件保留原期限" in notice
    assert _table_with(at, "复查、复核").set_index("代码").loc["national", "办理"] == "30 日"
    at.selectbox(key="edit_preset").set_value("tongling-210").run()
    at.selectbox(key="edit_limit").set_value("feedback").run()
    at.radio(key="edit_unit").set_value("working")
    at.number_input(key="edit_days").set_value(0)
    at.button(key="FormSubmitter:edit_form-保存并重新计算未办结案件").click().run()
    assert "初步反馈时限为 当日" in _shown(at.success[0].value)


def test_spot_check_meeting_commit_reveal_verify_and_outcome(app_env):
    at = _open("pages/spot_check.py", user="supervisor")
    at.button(key="FormSubmitter:meeting_form-新建督查会").click().run()
    notice = next(_shown(s.value) for s in at.success if "已建督查会 #1" in _shown(s.value))
    commitment = notice.rsplit("：", 1)[-1]
    assert len(commitment) == 64
    secret = at.code[0].value  # the secret, shown to its officer only
    at.selectbox(key="draw_meeting_id").set_value(1).run()
    at.number_input(key="draw_n").set_value(2)
    at.text_input(key="draw_secret").input(secret)
    at.button(key=DRAW_BUTTON).click().run()
    assert not at.exception
    seed = _metrics(at)["随机种子"]
    import hashlib

    assert hashlib.sha256(seed.encode()).hexdigest() == commitment  # the committed seed was used
    at.button(key="verify_draw").click().run()
    assert any("核验通过" in s.value for s in at.success)
    drawn = _case_tables(at)[0]["信访件编号"].tolist()
    at.selectbox(key="outcome_case").set_value(drawn[0])
    at.radio(key="outcome_rating").set_value("needs_work")
    at.text_area(key="outcome_report").input("已约谈当事人，正在协调补偿方案")
    at.button(key="FormSubmitter:outcome_form-保存会后记录").click().run()
    assert not at.exception
    assert _table_with(at, "点评")["信访件编号"].tolist() == [drawn[0]]
    follow = _open("pages/supervision.py", user="supervisor")
    assert _table_with(follow, "会上评价")["信访件编号"].tolist() == [drawn[0]]


def test_holiday_banner_from_november_while_next_year_is_not_imported(app_env, monkeypatch):
    """The package holds the schedule up to 2026 (none for 2027 in the fixture city)."""
    banner = "2027 年节假日安排未导入"
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-10-31")  # before 1 November: no banner
    assert not any(banner in w.value for w in _open().warning)
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-12-01")
    at = _open()  # the bureau, on the overview: the banner and the way to 设置
    assert any(banner in w.value and "设置 → 节假日安排" in w.value for w in at.warning)
    for page in ("pages/settings.py", "pages/supervision.py", "pages/heatmap.py"):  # every page
        at = _open(page)
        assert sum(banner in w.value for w in at.warning) == 1, page
    county = _open(user="county_a")  # a county leader cannot import it: not shown
    assert not any(banner in w.value for w in county.warning)


def test_spot_check_refuses_a_meeting_in_the_past_and_preselects_no_rating(app_env):
    import datetime as dt

    at = _open("pages/spot_check.py", user="supervisor")
    at.date_input(key="meeting_day").set_value(dt.date(2026, 6, 29))  # the day before today
    at.button(key="FormSubmitter:meeting_form-新建督查会").click().run()
    assert not at.exception
    refused = [_shown(e.value) for e in at.error]
    assert any("会议时间 2026-06-29 14:30 已经过去" in e and "改为将来的时间" in e for e in refused), refused
    assert not any("已建督查会" in s.value for s in at.success) and not at.code  # nothing made
    at.button(key=DRAW_BUTTON).click().run()  # a draw without a meeting
    assert at.radio(key="outcome_rating").value is None
    assert at.radio(key="outcome_rating").options == ["工作到位", "需改进", "工作不力"]
    at.text_area(key="outcome_report").input("已约谈")
    at.button(key="FormSubmitter:outcome_form-保存会后记录").click().run()
    assert any("请选择会上评价" in _shown(e.value) for e in at.error)


def test_map_bands_follow_the_data_not_one_outlier():
    from pages.maps import backlog_breaks, backlog_class, band_labels

    # positives 1 1 2 3 10: quintile upper bounds 1, 1, 2, 3, 10 (the repeated 1 merged)
    breaks = backlog_breaks([0, 1, 1, 2, 3, 10])
    assert breaks == [1, 2, 3, 10]
    # four bands use the four darkest colors; none is palette 0 (grey)
    assert [backlog_class(v, breaks) for v in (0, 1, 2, 3, 4, 10)] == [0, 2, 3, 4, 5, 5]
    assert band_labels(breaks) == [(0, "0"), (2, "1"), (3, "2"), (4, "3"), (5, "4–10")]
    assert backlog_breaks([0, 0]) == [1]


def test_a_phone_wide_map_names_only_the_worst_few_townships():
    """Township labels: all of the `labels` worst on a wide map; on a map narrower than
    500 px only the worst three, and always the selected township."""
    import json

    import pandas as pd

    from pages.maps import backlog_map

    square = lambda x: json.dumps({"type": "Polygon", "coordinates": [[[x, 0], [x, 1], [x + 1, 1], [x + 1, 0], [x, 0]]]})  # noqa: E731
    codes = [f"T{i}" for i in range(6)]
    shapes = pd.DataFrame({"code": codes, "boundary": [square(i) for i in range(6)],
                           "lon": [i + 0.5 for i in range(6)], "lat": [0.5] * 6})
    counties = pd.DataFrame({"code": ["C"], "name": ["甲县"], "boundary": [square(0)], "lon": [3.0], "lat": [0.5]})
    backlog = pd.DataFrame({"township_code": codes, "township_name": [f"镇{i}" for i in range(6)],
                            "county_name": ["甲县"] * 6, "unresolved": [9, 7, 5, 3, 1, 0],
                            "backlog_total": [9] * 6, "backlog_resolved": [0] * 6})
    spec = backlog_map(shapes, counties, backlog, height=300, labels=4, selected="T5").to_dict()
    labels = [layer for layer in spec["layer"] if layer.get("encoding", {}).get("text", {}).get("field") == "text"
              and "rank" in json.dumps(layer)]
    assert labels
    values = {row["text"]: row["rank"] for row in labels[0]["data"]["values"]}
    assert values == {"镇0 9": 1, "镇1 7": 2, "镇2 5": 3, "镇3 3": 4, "镇5 0": 0}
    hidden = labels[0]["encoding"]["opacity"]
    assert hidden["condition"]["test"] == "width < 500 && datum.rank > 3" and hidden["condition"]["value"] == 0
    assert hidden["value"] == 1


def test_the_unfinished_month_is_marked():
    import datetime as dt

    import pandas as pd

    from pages.charts import mark_partial

    frame = pd.DataFrame({"month": ["2026-11", "2026-12"], "opened": [9, 0]})
    marked = mark_partial(frame, dt.date(2026, 12, 1))
    assert marked["month"].tolist() == ["2026-11", "2026-12（截至1日）"]
    assert marked["partial"].tolist() == [False, True]
    whole = mark_partial(frame.head(1), dt.date(2026, 11, 30))  # a month's last day: complete
    assert whole["month"].tolist() == ["2026-11"] and whole["partial"].tolist() == [False]


def test_charts_are_drawn_without_the_schema_check_outside_the_tests(monkeypatch):
    """`charts.show` skips Altair's JSON-schema check in the app (a quarter of a page's
    server time) and keeps the chart's own properties untouched."""
    import altair as alt
    import pandas as pd
    from altair.utils import schemapi

    from pages import charts

    def refuse(*_args, **_kwargs):
        raise AssertionError("schema check ran")

    monkeypatch.setattr(charts, "CHECK_CHARTS", False)  # as in the app
    monkeypatch.setattr(schemapi, "DEBUG_MODE", True)  # restored after the test
    charts.configure_altair()
    monkeypatch.setattr(schemapi, "validate_jsonschema", refuse)
    chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_bar().encode(x="x:Q")
    charts.show(chart)  # Streamlit's bare mode: converts the chart as in the app
    assert "to_dict" not in chart._kwds  # not stored as a chart property
    monkeypatch.undo()  # checks on again: the same chart passes them
    assert chart.to_dict()["mark"] == {"type": "bar"}


def test_cached_charts_are_built_once_and_drawn_as_streamlit_draws_altair():
    """A chart shown through `charts.show_cached` is built the first time its key is seen
    and then reused; what the browser receives is what `st.altair_chart` sends."""
    from pages import charts

    def script():
        import altair as alt
        import pandas as pd
        import streamlit as st

        from pages import charts

        built = st.session_state.setdefault("built", [])
        frame = pd.DataFrame({"x": [1, 2, 3], "name": ["甲", "乙", "丙"]})

        def build():
            built.append(len(built))
            return alt.Chart(frame).mark_bar().encode(x="x:Q", y="name:N")

        st.altair_chart(build())
        key = ("test", charts.fingerprint(frame))
        charts.show_cached(key, build)
        charts.show_cached(key, build)  # from the cache
        charts.show_cached(("test", charts.fingerprint(frame.assign(x=[1, 2, 4]))), lambda: None)  # nothing drawn

    charts.clear_cached_specs()
    at = AppTest.from_function(script).run()
    assert not at.exception
    specs = [chart.proto.spec for chart in at.get("vega_lite_chart")]
    assert len(specs) == 3 and specs[0] == specs[1] == specs[2]
    datasets = [[(d.name, d.data.data) for d in chart.proto.datasets] for chart in at.get("vega_lite_chart")]
    assert datasets[0] == datasets[1] == datasets[2] and datasets[0]
    assert at.session_state["built"] == [0, 1]  # once for st.altair_chart, once for the cache
    at.run()  # a rerun draws from the cache: nothing built
    assert at.session_state["built"] == [0, 1, 2]


def test_cached_charts_fall_back_to_altair_without_streamlits_conversion(monkeypatch):
    """On a Streamlit release without its (private) conversion the charts are still drawn,
    built on every run."""
    from pages import charts

    def script():
        import altair as alt
        import pandas as pd
        import streamlit as st

        from pages import charts

        built = st.session_state.setdefault("built", [])
        frame = pd.DataFrame({"x": [1, 2, 3]})

        def build():
            built.append(len(built))
            return alt.Chart(frame).mark_bar().encode(x="x:Q")

        charts.show_cached(("fallback", charts.fingerprint(frame)), build, width="stretch")
        charts.show_cached(("fallback", charts.fingerprint(frame)), build, width="stretch")

    monkeypatch.setattr(charts, "_streamlit_spec", None)
    charts.clear_cached_specs()
    at = AppTest.from_function(script).run()
    assert not at.exception and len(at.get("vega_lite_chart")) == 2
    assert at.session_state["built"] == [0, 1]
