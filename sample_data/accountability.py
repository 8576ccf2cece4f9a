"""The sample city's accountability records, so that every page and indicator of the
accountability loop shows something on the first run: 四定四包 and 2453 steps of the
backlog cases, leader reception days, 五个必批 instructions, 纪委+信访 referrals, 溯源,
问责/约谈 (of invented officials), 回访 and 销号.

Deterministic for a given (seed, until): read from the cases just written, drawn with
their own random generator. Proportions follow the seeds' reports (Suqian: 接访完成率
98.1%; Weifang: satisfied with the bureau 96.9%, with the competent body 96.6%;
Tongling: per quarter a few 典型案例 and 一般事项, about half closed)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dashboard import models
from dashboard.accountability import STEP_GROUPS
from sample_data import generator
from sample_data.generator import GIVEN_CHARS, SURNAMES

RECORDED_BY = "示例数据"
PLACES = {"city": "市群众来访接待中心", "county": "{name}信访局接待大厅", "township": "{name}综治中心"}
FORMS = ("receive", "appointment", "down", "walk")
CATEGORY_ITEMS = {
    "concentrated": ("{place}群众集中反映物业服务问题", "{place}多名群众反映拆迁补偿标准问题"),
    "difficult": ("{place}历史遗留安置问题推进难", "{place}工程款拖欠问题协调难"),
    "decision": ("{place}学区调整方案出台前风险评估", "{place}公交线路调整可能引发矛盾"),
    "emergency": ("{place}工地欠薪聚集事件", "{place}小区停水引发聚集"),
    "bureau": ("市信访局呈报：{place}征地补偿较大事项", "市信访局呈报：{place}养老机构退费事项"),
}
INSTRUCTIONS = ("请牵头单位两周内拿出化解方案，报市委办。", "即日处置，依法依规、压实属地责任。",
                "由分管领导包案，每周报告进展。", "请信访局会同主管部门跟踪督办，办结后回访。")
CAUSES = ("政策解释不到位，群众诉求长期未获回应", "部门间推诿扯皮，责任主体不明确", "首办环节答复简单化，未实地核查",
          "历史遗留问题，相关资料缺失", "补偿标准执行不一，群众不认可")
POSTS = (("{unit}", "副主任"), ("{unit}", "科长"), ("{unit}", "党委委员"), ("{unit}", "副局长"))
OUTCOMES = ("责任单位限期整改，已办结", "对相关责任人诫勉谈话", "督促重新办理，已答复", "未发现违纪问题，已说明")


def _names(rng: np.random.Generator, count: int) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        name = SURNAMES[rng.integers(len(SURNAMES))] + "".join(
            GIVEN_CHARS[i] for i in rng.integers(len(GIVEN_CHARS), size=rng.integers(1, 3)))
        if name not in names:
            names.append(name)
    return names


def _day(rng: np.random.Generator, start: dt.date, end: dt.date) -> dt.date:
    span = max((end - start).days, 0)
    return start + dt.timedelta(days=int(rng.integers(0, span + 1)))


def add_records(engine: Engine, until: dt.date, seed: int) -> dict:
    """Write the records; returns how many of each."""
    rng = np.random.default_rng(seed + 15)
    at = dt.datetime.combine(until, dt.time(9))
    year_ago = until - dt.timedelta(days=365)
    with engine.connect() as conn:
        # in a fixed order: the draws below depend on it (PostgreSQL has no insertion order)
        leaders = pd.DataFrame(conn.execute(sa.select(models.leaders).order_by(models.leaders.c.id)).mappings().all())
        regions = pd.DataFrame(conn.execute(sa.select(models.regions.c.code, models.regions.c.name,
                                                      models.regions.c.level, models.regions.c.parent_code)
                                            .order_by(models.regions.c.code)).mappings().all())
        units = pd.DataFrame(conn.execute(sa.select(models.units.c.id, models.units.c.name, models.units.c.kind,
                                                    models.units.c.region_code).order_by(models.units.c.id))
                             .mappings().all())
        backlog = pd.DataFrame(conn.execute(sa.select(
            models.cases.c.id, models.cases.c.case_no, models.cases.c.leader_id, models.cases.c.county_code,
            models.cases.c.township_code, models.cases.c.registered_on, models.cases.c.resolved_on,
            models.cases.c.clearance_target, models.cases.c.responsible_unit_id, models.cases.c.closed_on)
            .where(models.cases.c.is_backlog.is_(True), models.cases.c.leader_id.is_not(None))
            .order_by(models.cases.c.id)).mappings().all())
        closed = pd.DataFrame(conn.execute(sa.select(
            models.cases.c.id, models.cases.c.closed_on, models.cases.c.county_code, models.cases.c.township_code,
            models.cases.c.satisfaction)
            .where(models.cases.c.closed_on.between(year_ago, until)).order_by(models.cases.c.id)).mappings().all())
    if leaders.empty or regions.empty:
        return {}
    names = regions.set_index("code")["name"].to_dict()
    city_code = regions.loc[regions["level"] == "city", "code"].iloc[0]
    counties = regions[regions["level"] == "county"]["code"].tolist()
    unit_of_region = units.dropna(subset=["region_code"]).groupby("region_code")["id"].first().to_dict()
    unit_names = units.set_index("id")["name"].to_dict()
    rows: dict[str, list[dict]] = {k: [] for k in ("plans", "steps", "receptions", "reception_cases", "instructions",
                                                   "referrals", "traces", "accountability", "revisits", "clearances")}

    # 四定四包 and 2453 for every backlog case with a leader: most plans complete, some
    # missing a 定 (flagged on the leader board); resolved cases have more steps done.
    for case in backlog.itertuples():
        registered = case.registered_on
        missing = rng.random()
        unit_id = case.responsible_unit_id or unit_of_region.get(case.township_code or case.county_code)
        rows["plans"].append(dict(
            case_id=case.id, leader_id=case.leader_id,
            measures=None if missing < 0.06 else "1. 包案领导见面听取诉求\n2. 组织相关部门会商\n3. 制定化解方案并落实\n4. 回访销号",
            target_date=None if 0.06 <= missing < 0.1 else (case.clearance_target or until + dt.timedelta(days=90)),
            responsible_person=None if 0.1 <= missing < 0.14 else "责任单位主要负责人",
            responsible_unit_id=None if 0.1 <= missing < 0.14 else unit_id, recorded_by=RECORDED_BY, recorded_at=at))
        share = 1.0 if case.resolved_on is not None else rng.uniform(0.2, 0.9)
        day = max(registered, until - dt.timedelta(days=400))
        for group, (_, _, n) in STEP_GROUPS.items():
            for i in range(1, n + 1):
                if rng.random() < share:
                    day = min(until, day + dt.timedelta(days=int(rng.integers(3, 20))))
                    rows["steps"].append(dict(case_id=case.id, step=f"{group}{i}", done_on=day, note=None,
                                              recorded_by=RECORDED_BY, recorded_at=at))

    # Reception days: each leader about monthly over the last year; 98% held.
    backlog_of_leader = backlog.groupby("leader_id")["id"].apply(list).to_dict() if not backlog.empty else {}
    reception_id = 0
    for leader in leaders.itertuples():
        every = {"city": 60, "county": 45, "township": 40}[leader.level]
        day = year_ago + dt.timedelta(days=int(rng.integers(0, every)))
        while day <= until:
            reception_id += 1
            held = rng.random() < 0.981
            region = leader.region_code or city_code
            rows["receptions"].append(dict(
                id=reception_id, leader_id=leader.id, region_code=region, held_on=day,
                place=PLACES[leader.level].format(name=names.get(region, "")), level=leader.level,
                form=FORMS[int(rng.integers(len(FORMS)))], held=held,
                persons=int(rng.integers(1, 6)) if held else 0, note=None, recorded_by=RECORDED_BY, recorded_at=at))
            taken = backlog_of_leader.get(leader.id, [])
            if held and taken and rng.random() < 0.2:
                rows["reception_cases"].append(dict(reception_id=reception_id,
                                                    case_id=int(taken[int(rng.integers(len(taken)))])))
            day += dt.timedelta(days=int(rng.integers(every - 7, every + 8)))

    # 五个必批: the city's two principal leaders (市委书记, 市长), about three matters a month.
    principals = leaders[leaders["level"] == "city"].head(2)
    categories = list(CATEGORY_ITEMS)
    for leader in principals.itertuples():
        for _ in range(18):
            received = _day(rng, year_ago, until)
            category = categories[int(rng.integers(len(categories)))]
            place = names[counties[int(rng.integers(len(counties)))]]
            pending = (until - received).days < 10 and rng.random() < 0.6
            instructed = None if pending else min(until, received + dt.timedelta(days=int(rng.integers(0, 8))))
            rows["instructions"].append(dict(
                leader_id=leader.id, region_code=city_code, category=category,
                item=CATEGORY_ITEMS[category][int(rng.integers(2))].format(place=place), case_id=None,
                received_on=received, instructed_on=instructed,
                instruction=None if instructed is None else INSTRUCTIONS[int(rng.integers(len(INSTRUCTIONS)))],
                recorded_by=RECORDED_BY, recorded_at=at))

    # 纪委+信访: each of the last four quarters a batch of unresolved backlog cases, most
    # 典型案例; earlier batches fed back and 对账销号.
    open_backlog = backlog[backlog["resolved_on"].isna()] if not backlog.empty else backlog
    chosen = open_backlog.sample(n=min(16, len(open_backlog)), random_state=seed % (2**32)) \
        if not open_backlog.empty else open_backlog
    county_leader = leaders[leaders["level"] == "county"].groupby("region_code")["id"].first().to_dict()
    for i, case in enumerate(chosen.itertuples()):
        quarter_start = until - dt.timedelta(days=91 * (3 - i % 4) + 80)
        referred = _day(rng, max(quarter_start, case.registered_on), min(until, quarter_start + dt.timedelta(days=80)))
        old = (until - referred).days > 100
        feedback = referred + dt.timedelta(days=int(rng.integers(20, 60))) if old or rng.random() < 0.3 else None
        feedback = feedback if feedback is None or feedback <= until else None
        rows["referrals"].append(dict(
            case_id=case.id, kind="typical" if i % 7 not in (3, 6) else "general",
            quarter=f"{referred.year}Q{(referred.month - 1) // 3 + 1}", referred_on=referred,
            approved_by_leader_id=county_leader.get(case.county_code, int(leaders["id"].iloc[0])),
            receiving_body=f"{names.get(case.county_code, '')}纪委监委",
            finding=None if feedback is None else ("shirking", "inaction", "misconduct", "none")[int(rng.integers(4))],
            outcome=None if feedback is None else OUTCOMES[int(rng.integers(len(OUTCOMES)))],
            feedback_on=feedback, closed_on=feedback + dt.timedelta(days=10) if feedback is not None and old
            and feedback + dt.timedelta(days=10) <= until else None, recorded_by=RECORDED_BY, recorded_at=at))

    # 溯源调查 on about a tenth of the backlog cases, in the last year.
    for case in backlog.sample(frac=0.1, random_state=(seed + 1) % (2**32)).itertuples() if not backlog.empty else ():
        rows["traces"].append(dict(
            case_id=case.id, traced_on=_day(rng, max(year_ago, case.registered_on), until),
            cause=CAUSES[int(rng.integers(len(CAUSES)))],
            responsible_unit_id=case.responsible_unit_id or unit_of_region.get(case.township_code or case.county_code),
            recorded_by=RECORDED_BY, recorded_at=at))

    # 问责/约谈 of invented officials, per county, after the traces.
    officials = _names(rng, 3 * len(counties))
    forms = ("interview", "interview", "criticism", "admonish", "organisational", "discipline")
    for i, name in enumerate(officials):
        county = counties[i % len(counties)]
        townships = regions[regions["parent_code"] == county]["code"].tolist()
        region = townships[int(rng.integers(len(townships)))] if townships and i % 2 else county
        unit_id = unit_of_region.get(region) or unit_of_region.get(county)
        unit = unit_names.get(unit_id, f"{names[county]}人民政府")
        post = POSTS[int(rng.integers(len(POSTS)))][1]
        rows["accountability"].append(dict(
            region_code=region, case_id=None, official_name=name, post=f"{unit}{post}", unit_name=unit,
            level="township" if region != county else "county", decided_on=_day(rng, year_ago, until),
            form=forms[int(rng.integers(len(forms)))], reason="信访事项办理推诿扯皮、久拖不决",
            recorded_by=RECORDED_BY, recorded_at=at))

    # 回访 of about 60% of the cases closed in the last year, and of every resolved
    # backlog case (销号 needs one); satisfaction as Weifang reports it.
    revisited = closed[rng.random(len(closed)) < 0.6] if not closed.empty else closed
    resolved = backlog[backlog["resolved_on"].notna() & backlog["closed_on"].notna()] if not backlog.empty else backlog
    targets = pd.concat([revisited[["id", "closed_on"]], resolved[["id", "closed_on"]]]).drop_duplicates("id")
    ways = ("phone", "phone", "phone", "visit", "online", "letter")
    for case in targets.itertuples():
        revisit_day = min(until, case.closed_on + dt.timedelta(days=int(rng.integers(3, 30))))
        bureau = "unsatisfied" if rng.random() > 0.969 else ("satisfied" if rng.random() < 0.8 else "basic")
        authority = "unsatisfied" if rng.random() > 0.966 else ("satisfied" if rng.random() < 0.75 else "basic")
        rows["revisits"].append(dict(
            case_id=case.id, revisited_on=revisit_day, way=ways[int(rng.integers(len(ways)))],
            result="诉求已解决" if bureau != "unsatisfied" else "仍有异议，已转办理单位", satisfaction_bureau=bureau,
            satisfaction_authority=authority if rng.random() < 0.95 else None, recorded_by=RECORDED_BY,
            recorded_at=at))

    # 销号: resolved backlog cases, after their 回访; a few reopened (再次督办).
    revisit_day = {r["case_id"]: r["revisited_on"] for r in rows["revisits"]}
    for case in resolved.itertuples():
        day = max(case.resolved_on, revisit_day[case.id]) + dt.timedelta(days=int(rng.integers(1, 15)))
        if day > until:
            continue
        approver = f"{names.get(case.county_code, '')}信访工作联席会议"
        rows["clearances"].append(dict(case_id=case.id, kind="cleared", decided_on=day, approved_by=approver,
                                       note=None, recorded_by=RECORDED_BY, recorded_at=at))
        if rng.random() < 0.03 and day + dt.timedelta(days=30) <= until:
            rows["clearances"].append(dict(case_id=case.id, kind="reopened", decided_on=day + dt.timedelta(days=30),
                                           approved_by=approver, note="回访发现问题反弹，再次督办",
                                           recorded_by=RECORDED_BY, recorded_at=at))

    tables = {"plans": models.case_plans, "steps": models.case_steps, "receptions": models.receptions,
              "reception_cases": models.reception_cases, "instructions": models.instructions,
              "referrals": models.referrals, "traces": models.traces,
              "accountability": models.accountability_records, "revisits": models.revisits,
              "clearances": models.clearances}
    with engine.begin() as conn:
        for key, table in tables.items():
            # COPY on PostgreSQL, a plain executemany on SQLite: the same rows as
            # SQLAlchemy's insert (tests/test_sample_load.py), 100 000s of 回访 at 10M cases
            generator._write_rows(conn, table, rows[key])
        if engine.dialect.name == "postgresql" and rows["receptions"]:
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('receptions', 'id'), "
                                 "(SELECT MAX(id) FROM receptions))"))
    return {key: len(value) for key, value in rows.items()}
