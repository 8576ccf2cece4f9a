"""Accountability records on top of the fixture city (tests/fixture_city.py), each
commented with what it adds to the figures worked out by hand in
tests/test_accountability.py. Period: 2026-01-01 … 2026-06-30.

Leaders: 1 赵一 (甲区), 2 钱二 (乙县), and here 3 孙三 (测试市市长, city level)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from dashboard import accountability as acc
from dashboard.models import leaders
from tests.fixture_city import A1, A2, B1, B2, CITY, COUNTY_A, TODAY

D = dt.date
AT = dt.datetime(2026, 6, 30, 9)


def case_id(conn, case_no: str) -> int:
    from dashboard.models import cases

    return conn.execute(sa.select(cases.c.id).where(cases.c.case_no == case_no)).scalar_one()


def add_records(engine: sa.Engine) -> None:
    stamp = dict(by="fixture", at=AT, today=TODAY)
    with engine.begin() as conn:
        conn.execute(leaders.insert().values(id=3, name="孙三", title="测试市市长", level="city", region_code=CITY))
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('leaders', 'id'), 3)"))
        c = {no: case_id(conn, no) for no in ("B01", "B02", "B03", "B04", "B05", "C01", "C02", "C03", "C04", "C08",
                                              "P02")}

        # Receptions. City, H1 2026: scheduled 4 (R1–R4), held 3, persons 12 + 3 + 20 = 35.
        acc.add_reception(conn, leader_id=1, region_code=A1, held_on=D(2026, 3, 5), place="东门街道信访接待室",
                          level="county", form="接访", held=True, persons=12, case_ids=[c["B01"]], note=None, **stamp)
        acc.add_reception(conn, leader_id=1, region_code=COUNTY_A, held_on=D(2026, 4, 10), place="甲区信访局",
                          level="county", form="约访", held=True, persons=3, case_ids=[], note=None, **stamp)
        acc.add_reception(conn, leader_id=2, region_code=B1, held_on=D(2026, 5, 20), place="南山镇政府",
                          level="county", form="下访", held=False, persons=0, case_ids=[], note=None, **stamp)
        acc.add_reception(conn, leader_id=3, region_code=CITY, held_on=D(2026, 6, 1), place="市群众来访接待中心",
                          level="city", form="receive", held=True, persons=20, case_ids=[], note=None, **stamp)
        # Before the period: left out.
        acc.add_reception(conn, leader_id=2, region_code=B2, held_on=D(2025, 12, 1), place="北河乡政府",
                          level="county", form="走访", held=True, persons=7, case_ids=[], note=None, **stamp)

        # 五个必批. City: received 4, instructed 3 (3, 1 and 7 days) -> 阅批率 0.75, mean 11/3 days.
        acc.add_instruction(conn, leader_id=3, region_code=CITY, category="concentrated", item="某小区群众集中反映供暖问题",
                            case_id=None, received_on=D(2026, 2, 1), instructed_on=D(2026, 2, 4),
                            instruction="请住建局牵头，两周内拿出方案。", **stamp)
        acc.add_instruction(conn, leader_id=3, region_code=CITY, category="发生突发事件", item="某工地欠薪聚集",
                            case_id=None, received_on=D(2026, 5, 10), instructed_on=D(2026, 5, 11),
                            instruction="人社局即日处置。", **stamp)
        acc.add_instruction(conn, leader_id=3, region_code=CITY, category="bureau", item="信访局呈报：征地补偿较大事项",
                            case_id=None, received_on=D(2026, 6, 20), instructed_on=None, instruction=None, **stamp)
        acc.add_instruction(conn, leader_id=1, region_code=COUNTY_A, category="difficult", item="B02 积案推进难",
                            case_id=c["B02"], received_on=D(2026, 3, 1), instructed_on=D(2026, 3, 8),
                            instruction="区住建局本月内化解。", **stamp)

        # Referrals. City H1: typical 2 (F1, F2), general 1 (F3), closed 1 (F1).
        f1 = acc.add_referral(conn, c["C04"], kind="典型案例", quarter=None, referred_on=D(2026, 5, 1),
                              approved_by_leader_id=1, receiving_body="甲区纪委监委", **stamp)
        acc.update_referral(conn, f1, finding="不作为", outcome="责任单位限期整改", feedback_on=D(2026, 6, 1),
                            closed_on=D(2026, 6, 15), today=TODAY)
        acc.add_referral(conn, c["B02"], kind="typical", quarter="2026Q2", referred_on=D(2026, 4, 15),
                         approved_by_leader_id=1, receiving_body="甲区纪委监委", **stamp)
        acc.add_referral(conn, c["C08"], kind="一般事项", quarter=None, referred_on=D(2026, 6, 10),
                         approved_by_leader_id=2, receiving_body="乙县纪委监委", **stamp)
        f4 = acc.add_referral(conn, c["P02"], kind="general", quarter=None, referred_on=D(2025, 10, 1),
                              approved_by_leader_id=2, receiving_body="乙县纪委监委", **stamp)  # before the period
        acc.update_referral(conn, f4, finding="none", outcome="已答复", feedback_on=D(2025, 11, 1),
                            closed_on=D(2025, 12, 1), today=TODAY)

        # 溯源调查. City H1: 3 (T1–T3; all in 甲区, T3 in 东门街道).
        acc.add_trace(conn, c["C04"], traced_on=D(2026, 5, 5), cause="确权资料缺失，部门间推诿", responsible_unit_id=2,
                      **stamp)
        acc.add_trace(conn, c["B02"], traced_on=D(2026, 2, 10), cause="历史遗留安置问题", responsible_unit_id=2, **stamp)
        acc.add_trace(conn, c["C02"], traced_on=D(2026, 6, 1), cause="欠薪未及时处置", responsible_unit_id=1, **stamp)
        acc.add_trace(conn, c["B04"], traced_on=D(2025, 11, 1), cause="before the period", responsible_unit_id=4,
                      **stamp)

        # 问责/约谈. City H1: persons held accountable 2 (王五 twice counts once, 周七);
        # 约谈 1 (李六), not counted as 问责.
        for values in (
            dict(region_code=A2, official_name="王五", post="西门街道办事处副主任", unit_name="西门街道办事处",
                 level="乡级", decided_on=D(2026, 5, 20), form="诫勉"),
            dict(region_code=A2, official_name="王五", post="西门街道办事处副主任", unit_name="西门街道办事处",
                 level="township", decided_on=D(2026, 6, 10), form="通报批评"),
            dict(region_code=COUNTY_A, official_name="李六", post="甲区住建局局长", unit_name="甲区住房和城乡建设局",
                 level="county", decided_on=D(2026, 3, 15), form="约谈"),
            dict(region_code=B2, official_name="周七", post="北河乡副乡长", unit_name="北河乡人民政府",
                 level="township", decided_on=D(2026, 4, 1), form="党纪政务处分"),
            dict(region_code=B2, official_name="吴八", post="北河乡干部", unit_name="北河乡人民政府",
                 level="township", decided_on=D(2025, 9, 1), form="组织处理"),  # before the period
        ):
            acc.add_accountability(conn, case_id=None, reason=None, **values, **stamp)

        # 回访. Closed in H1: C01, C02, C03, B03, P04 (5); revisited: C01, C02, B03 -> 0.6.
        # Bureau: V1 满意, V2 不满意, V3 满意 -> 2/3. Authority: V1 满意, V2 不满意, V3 none -> 1/2.
        acc.add_revisit(conn, c["C01"], revisited_on=D(2026, 3, 10), way="电话回访", result="已解决",
                        satisfaction_bureau="满意", satisfaction_authority="满意", **stamp)
        acc.add_revisit(conn, c["C02"], revisited_on=D(2026, 5, 20), way="visit", result="仍有异议",
                        satisfaction_bureau="不满意", satisfaction_authority="unsatisfied", **stamp)
        acc.add_revisit(conn, c["B03"], revisited_on=D(2026, 3, 25), way="phone", result="已兑现",
                        satisfaction_bureau="satisfied", satisfaction_authority=None, **stamp)
        acc.add_revisit(conn, c["B04"], revisited_on=D(2025, 12, 10), way="phone", result="before the period",
                        satisfaction_bureau="unsatisfied", satisfaction_authority="unsatisfied", **stamp)

        # 销号: B03 cleared 2026-04-01; B04 cleared 2025-12-20 and reopened 2026-05-01.
        acc.clear(conn, c["B03"], on=D(2026, 4, 1), approved_by="钱二（乙县副县长）", note=None, **stamp)
        acc.clear(conn, c["B04"], on=D(2025, 12, 20), approved_by="钱二（乙县副县长）", note=None, **stamp)
        acc.reopen(conn, c["B04"], on=D(2026, 5, 1), approved_by="钱二（乙县副县长）", note="回访发现补偿未到位",
                   **stamp)

        # 四定四包. 赵一: B01 complete, B02 measures only. 钱二: B03 complete, B04 none,
        # B05 leader and time only.
        plan = dict(by="fixture", at=AT)
        acc.save_plan(conn, c["B01"], leader_id=1, measures="1. 约见信访人\n2. 协调自然资源局复核", target_date=D(2026, 9, 30),
                      responsible_person="东门街道办事处主任", responsible_unit_id=1, **plan)
        acc.save_plan(conn, c["B02"], leader_id=1, measures="1. 组织听证", target_date=None, responsible_person=None,
                      responsible_unit_id=None, **plan)
        acc.save_plan(conn, c["B03"], leader_id=2, measures="1. 落实补发", target_date=D(2026, 6, 30),
                      responsible_person="南山镇镇长", responsible_unit_id=3, **plan)
        acc.save_plan(conn, c["B05"], leader_id=2, measures=None, target_date=D(2026, 12, 31), responsible_person=None,
                      responsible_unit_id=None, **plan)

        # 2453. 赵一: B01 3 steps, B02 none -> 3 of 28. 钱二: B03 all 14, B05 one -> 15 of 42.
        for step, day in (("meet1", D(2026, 1, 10)), ("hear1", D(2026, 2, 1)), ("meet2", D(2026, 3, 5))):
            acc.record_step(conn, c["B01"], step, done_on=day, note=None, **stamp)
        for i, step in enumerate(acc.STEPS):
            acc.record_step(conn, c["B03"], step, done_on=D(2026, 2, 2) + dt.timedelta(days=i), note=None, **stamp)
        acc.record_step(conn, c["B05"], "五确定·第1次确定", done_on=D(2026, 6, 1), note="确定补偿方案", **stamp)

        # 一事双交 of C04: the territory (西门街道办事处) and the city competent unit.
        acc.set_part(conn, c["C04"], 2, "territory", "入户核实、化解稳控")
        acc.set_part(conn, c["C04"], 5, "competent", "确权资料复核")
