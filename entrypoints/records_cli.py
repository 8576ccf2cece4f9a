"""Command line of the accountability loop: add and list receptions (领导接访),
instructions (五个必批), referrals (纪委移送), 回访, 问责/约谈 and 溯源 records, the
case work of 四定四包 / 2453 / 销号, and `records import KIND FILE`.

Exit codes as everywhere: 0 ok, 1 partly done (an import with refused rows), 2 bad
input, 3 refused. `--json` outputs: an add prints {"id": …}; a list prints
{"count": n, "rows": [...]}; an import prints the import's summary.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from dashboard import accountability as acc
from dashboard import actions, db

LIST_HELP = "列出（按期间，默认本年至今；--region 限定区划）"


def _cli():
    from entrypoints import cli

    return cli


def _list_arguments(parser) -> None:
    cli = _cli()
    parser.add_argument("--from", dest="date_from", type=cli._date, help="起始日期（含），默认本年 1 月 1 日")
    parser.add_argument("--to", dest="date_to", type=cli._date, help="截止日期（含），默认今天")
    parser.add_argument("--region", help="区划代码，默认本人范围")
    parser.add_argument("--json", action="store_true")


def add_record_commands(sub, common) -> None:
    """Add the commands to the main parser's subparsers and their handlers to COMMANDS."""
    cli = _cli()
    date = cli._date

    def group(name: str, help_text: str):
        parser = sub.add_parser(name, help=help_text)
        return cli._with_user(parser.add_subparsers(dest=f"{name}_command", required=True,
                                                    parser_class=cli._Parser), common)

    reception = group("reception", "领导接访：登记、列出")
    add = reception.add_parser("add", help="登记一次接访（已举行或已安排）")
    add.add_argument("--leader", required=True, help="接访领导（姓名或编号）")
    add.add_argument("--region", required=True, help="接访地所属区划代码")
    add.add_argument("--date", required=True, type=date, help="接访日期")
    add.add_argument("--place", required=True, help="接访地点")
    add.add_argument("--level", required=True, help="层级：市级 / 县级 / 乡级（city/county/township）")
    add.add_argument("--form", required=True, help="形式：接访 / 约访 / 下访 / 走访")
    add.add_argument("--scheduled", action="store_true", help="只登记安排（尚未举行）")
    add.add_argument("--persons", type=cli._non_negative, default=0, help="接待群众人次")
    add.add_argument("--cases", default="", help="当日纳入包案的信访件编号，逗号分隔")
    add.add_argument("--note", help="备注")
    add.add_argument("--json", action="store_true")
    _list_arguments(reception.add_parser("list", help=LIST_HELP))

    instruction = group("instruction", "五个必批：呈批事项登记、批示、列出")
    add = instruction.add_parser("add", help="登记一件呈批事项")
    add.add_argument("--leader", required=True, help="批示领导（姓名或编号）")
    add.add_argument("--category", required=True, help="必批类别：" + "、".join(acc.INSTRUCTION_CATEGORIES.values()))
    add.add_argument("--item", required=True, help="呈批事项（不写信访人个人信息）")
    add.add_argument("--received", required=True, type=date, help="呈报日期")
    add.add_argument("--case", dest="case_no", help="关联信访件编号")
    add.add_argument("--instructed", type=date, help="批示日期（已批示时）")
    add.add_argument("--text", help="批示内容（已批示时）")
    add.add_argument("--json", action="store_true")
    done = instruction.add_parser("done", help="登记批示")
    done.add_argument("instruction_id", type=cli._positive)
    done.add_argument("--on", required=True, type=date, help="批示日期")
    done.add_argument("--text", required=True, help="批示内容")
    done.add_argument("--json", action="store_true")
    _list_arguments(instruction.add_parser("list", help=LIST_HELP))

    referral = group("referral", "纪委+信访：移送、反馈与对账销号、列出、候选")
    add = referral.add_parser("add", help="移送一件信访件（由督查室或信访局决定）")
    add.add_argument("case_no", help="信访件编号")
    add.add_argument("--kind", required=True, help="典型案例 / 一般事项（typical/general）")
    add.add_argument("--date", required=True, type=date, help="移送日期")
    add.add_argument("--approved-by", required=True, help="批准移送的分管领导（姓名或编号）")
    add.add_argument("--body", required=True, help="接收的纪检监察机关")
    add.add_argument("--quarter", help="季度，如 2026Q2；默认按移送日期")
    add.add_argument("--json", action="store_true")
    update = referral.add_parser("update", help="登记纪委监委反馈；加 --close 对账销号")
    update.add_argument("referral_id", type=cli._positive)
    update.add_argument("--finding", help="查处认定：推诿扯皮 / 不作为 / 乱作为 / 未发现问题")
    update.add_argument("--outcome", help="处理结果")
    update.add_argument("--feedback", type=date, help="反馈日期")
    update.add_argument("--close", type=date, metavar="DATE", help="对账销号日期")
    update.add_argument("--json", action="store_true")
    _list_arguments(referral.add_parser("list", help=LIST_HELP))
    _list_arguments(referral.add_parser("candidates", help="移送候选：超期、长期积案、督查会评价不满意（由人决定是否移送）"))

    revisit = group("revisit", "回访：登记、列出")
    add = revisit.add_parser("add", help="登记一次回访（办结后）")
    add.add_argument("case_no", help="信访件编号")
    add.add_argument("--date", required=True, type=date, help="回访日期")
    add.add_argument("--way", required=True, help="方式：电话回访 / 上门回访 / 信函回访 / 网上回访")
    add.add_argument("--result", help="回访结果")
    add.add_argument("--bureau", help="对信访部门的满意度：满意 / 基本满意 / 不满意")
    add.add_argument("--authority", help="对责任（主管）部门的满意度：满意 / 基本满意 / 不满意")
    add.add_argument("--json", action="store_true")
    _list_arguments(revisit.add_parser("list", help=LIST_HELP))

    accountability = group("accountability", "问责、约谈：登记、列出")
    add = accountability.add_parser("add", help="登记一名公职人员被问责或约谈")
    add.add_argument("--name", required=True, help="姓名")
    add.add_argument("--post", required=True, help="职务")
    add.add_argument("--unit", required=True, help="所在单位")
    add.add_argument("--level", required=True, help="层级：市级 / 县级 / 乡级")
    add.add_argument("--date", required=True, type=date, help="日期")
    add.add_argument("--form", required=True, help="形式：" + "、".join(acc.ACCOUNTABILITY_FORMS.values()))
    add.add_argument("--region", help="所属区划代码（不填时按关联信访件）")
    add.add_argument("--case", dest="case_no", help="关联信访件编号")
    add.add_argument("--reason", help="事由")
    add.add_argument("--json", action="store_true")
    _list_arguments(accountability.add_parser("list", help=LIST_HELP))

    trace = group("trace", "信访责任溯源：登记、列出")
    add = trace.add_parser("add", help="登记一次溯源调查")
    add.add_argument("case_no", help="信访件编号")
    add.add_argument("--date", required=True, type=date, help="溯源日期")
    add.add_argument("--cause", required=True, help="成因（溯源结论）")
    add.add_argument("--unit", help="责任单位（全称）")
    add.add_argument("--json", action="store_true")
    _list_arguments(trace.add_parser("list", help=LIST_HELP))

    casework = group("casework", "领导包案：四定四包、2453 步骤、销号与再次督办")
    plan = casework.add_parser("plan", help="登记四定四包")
    plan.add_argument("case_no", help="信访件编号")
    plan.add_argument("--leader", help="包案领导（定领导）")
    plan.add_argument("--measures", help="措施（定措施），每步一行")
    plan.add_argument("--target", type=date, help="化解时限（定时间）")
    plan.add_argument("--person", help="责任人（定责任）")
    plan.add_argument("--unit", help="责任单位（定责任）")
    plan.add_argument("--json", action="store_true")
    step = casework.add_parser("step", help="登记一个 2453 步骤")
    step.add_argument("case_no", help="信访件编号")
    step.add_argument("step", help="步骤：meet1–2、hear1–4、settle1–5、supervise1–3")
    step.add_argument("--date", required=True, type=date, help="完成日期")
    step.add_argument("--note", help="说明")
    step.add_argument("--json", action="store_true")
    for verb, text in (("clear", "积案销号（须已化解、已回访）"), ("reopen", "已销号积案再次督办")):
        parser = casework.add_parser(verb, help=text)
        parser.add_argument("case_no", help="信访件编号")
        parser.add_argument("--date", required=True, type=date, help="日期")
        parser.add_argument("--approved-by", required=True, help="批准人（姓名、职务）")
        parser.add_argument("--note", required=verb == "reopen", help="说明（再次督办须写原因）")
        parser.add_argument("--json", action="store_true")
    _list_arguments(casework.add_parser("list", help="已销号与再次督办的积案"))

    records = group("records", "导入接访、批示、移送、回访、问责、溯源、2453、四定四包记录（Excel 或 CSV）")
    imported = records.add_parser("import", help="导入一类记录：有问题的行逐行拒绝并写入 .rejected.csv")
    from dashboard.record_import import KINDS

    imported.add_argument("kind", choices=list(KINDS), help="记录类型：" + "、".join(
        f"{k} {v.title}" for k, v in KINDS.items()))
    imported.add_argument("file", help=".xlsx / .xls / .csv")
    imported.add_argument("--encoding", help="CSV 编码，默认自动识别 UTF-8 / GBK")
    imported.add_argument("--dry-run", action="store_true", help="只检查，不写入")
    imported.add_argument("--rejected", help="被拒行的输出文件，默认 <文件名>.rejected.csv")
    imported.add_argument("--json", action="store_true")

    cli.COMMANDS.update({"reception": cmd_reception, "instruction": cmd_instruction, "referral": cmd_referral,
                         "revisit": cmd_revisit, "accountability": cmd_accountability, "trace": cmd_trace,
                         "casework": cmd_casework, "records": cmd_records})


# ------------------------------------------------------------------ helpers


def _engine_actor(args):
    engine = db.make_engine()
    return engine, _cli()._actor(engine, args)


def _added(args, what: str, record_id, text: str) -> int:
    _cli()._print({"id": record_id, "kind": what}, args.json, text)
    return _cli().EXIT_OK


def _records(frame: pd.DataFrame) -> list[dict]:
    out = frame.copy()
    for column in out.columns:
        out[column] = out[column].map(lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else
                                      v.isoformat() if hasattr(v, "isoformat") else
                                      v.item() if hasattr(v, "item") else v)
    return out.to_dict(orient="records")


def _list(args, what: str, query, columns: dict[str, str], mapped: dict[str, dict] | None = None) -> int:
    """Run a scoped list query for the actor and print it (a table of the Chinese
    columns, or JSON rows with the query's own keys)."""
    from queries.filters import Filters

    cli = _cli()
    filters = Filters(date_from=getattr(args, "date_from", None), date_to=getattr(args, "date_to", None))
    start, end = filters.period
    if start > end:
        raise cli.UserError(f"起始日期 {start} 晚于截止日期 {end}，请检查 --from/--to。")
    engine, actor = _engine_actor(args)
    scope = cli._read_scope(engine, actor, args.region, f"{what} {start}~{end}")
    with engine.connect() as conn:
        frame = query(conn, scope, filters)
    if args.json:
        print(json.dumps({"count": len(frame), "rows": _records(frame)}, ensure_ascii=False, indent=2, default=str))
        return cli.EXIT_OK
    shown = frame[[c for c in columns if c in frame]].copy()
    for column, labels in (mapped or {}).items():
        if column in shown:
            shown[column] = shown[column].map(lambda v, labels=labels: labels.get(v, v) if isinstance(v, str) else v)
    shown = shown.rename(columns=columns)
    print(f"{what}：{len(frame)} 条（{start} 至 {end}，{scope.name}）")
    if not shown.empty:
        print(shown.to_string(index=False))
    return cli.EXIT_OK


def _cases(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.replace("，", ",").replace("、", ",").split(",") if n.strip())


# ------------------------------------------------------------------ commands


def cmd_reception(args) -> int:
    from queries.receptions import reception_list

    if args.reception_command == "list":
        return _list(args, "领导接访", reception_list, {
            "id": "编号", "held_on": "日期", "leader_name": "接访领导", "place": "地点", "level": "层级",
            "form": "形式", "held": "已举行", "persons": "人次", "cases_taken": "包案件"},
            {"level": acc.RECEPTION_LEVELS, "form": acc.RECEPTION_FORMS})
    engine, actor = _engine_actor(args)
    record_id = actions.add_reception(
        engine, actor, leader=args.leader, region_code=args.region, held_on=args.date, place=args.place,
        level=args.level, form=args.form, held=not args.scheduled, persons=args.persons, case_nos=_cases(args.cases),
        note=args.note)
    return _added(args, "reception", record_id, f"已登记接访 #{record_id}。")


def cmd_instruction(args) -> int:
    from queries.receptions import instruction_list

    if args.instruction_command == "list":
        return _list(args, "五个必批", instruction_list, {
            "id": "编号", "leader_name": "领导", "category": "类别", "item": "呈批事项", "received_on": "呈报日期",
            "instructed_on": "批示日期", "days": "用时（天）"}, {"category": acc.INSTRUCTION_CATEGORIES})
    engine, actor = _engine_actor(args)
    if args.instruction_command == "done":
        actions.record_instruction(engine, actor, args.instruction_id, instructed_on=args.on, instruction=args.text)
        return _added(args, "instruction", args.instruction_id, f"已登记呈批事项 #{args.instruction_id} 的批示。")
    record_id = actions.add_instruction(
        engine, actor, leader=args.leader, category=args.category, item=args.item, received_on=args.received,
        case_no=args.case_no, instructed_on=args.instructed, instruction=args.text)
    return _added(args, "instruction", record_id, f"已登记呈批事项 #{record_id}。")


def cmd_referral(args) -> int:
    from queries.accountability import referral_candidates, referral_list

    if args.referral_command == "list":
        return _list(args, "纪委移送", referral_list, {
            "id": "编号", "case_no": "信访件编号", "county_name": "县区", "kind": "类型", "quarter": "季度",
            "referred_on": "移送日期", "approved_by": "批准领导", "receiving_body": "接收机关", "finding": "查处认定",
            "closed_on": "对账销号"}, {"kind": acc.REFERRAL_KINDS, "finding": acc.FINDINGS})
    if args.referral_command == "candidates":
        return _list(args, "移送候选", referral_candidates, {
            "case_no": "信访件编号", "county_name": "县区", "leader_name": "包案领导", "unit_name": "责任单位",
            "reasons": "提出理由"})
    engine, actor = _engine_actor(args)
    if args.referral_command == "update":
        values = actions.update_referral(engine, actor, args.referral_id, finding=args.finding, outcome=args.outcome,
                                         feedback_on=args.feedback, closed_on=args.close)
        return _added(args, "referral", args.referral_id, f"已更新移送记录 #{args.referral_id}"
                      + ("，已对账销号。" if "closed_on" in values else "。"))
    record_id = actions.add_referral(engine, actor, args.case_no, kind=args.kind, referred_on=args.date,
                                     approved_by=args.approved_by, receiving_body=args.body, quarter=args.quarter)
    return _added(args, "referral", record_id, f"已移送，移送记录 #{record_id}。")


def cmd_revisit(args) -> int:
    from queries.accountability import revisit_list

    if args.revisit_command == "list":
        return _list(args, "回访", revisit_list, {
            "case_no": "信访件编号", "county_name": "县区", "revisited_on": "回访日期", "way": "方式",
            "satisfaction_bureau": "对信访部门", "satisfaction_authority": "对责任部门"},
            {"way": acc.REVISIT_WAYS, "satisfaction_bureau": acc.RATINGS, "satisfaction_authority": acc.RATINGS})
    engine, actor = _engine_actor(args)
    record_id = actions.add_revisit(engine, actor, args.case_no, revisited_on=args.date, way=args.way,
                                    result=args.result, satisfaction_bureau=args.bureau,
                                    satisfaction_authority=args.authority)
    return _added(args, "revisit", record_id, f"已登记回访 #{record_id}。")


def cmd_accountability(args) -> int:
    from queries.accountability import accountability_list

    if args.accountability_command == "list":
        return _list(args, "问责约谈", accountability_list, {
            "decided_on": "日期", "official_name": "姓名", "post": "职务", "unit_name": "单位", "level": "层级",
            "form": "形式", "region_name": "区划"}, {"form": acc.ACCOUNTABILITY_FORMS, "level": acc.RECEPTION_LEVELS})
    engine, actor = _engine_actor(args)
    record_id = actions.add_accountability(
        engine, actor, official_name=args.name, post=args.post, unit_name=args.unit, level=args.level,
        decided_on=args.date, form=args.form, region_code=args.region, case_no=args.case_no, reason=args.reason)
    return _added(args, "accountability", record_id, f"已登记问责（约谈）记录 #{record_id}。")


def cmd_trace(args) -> int:
    from queries.accountability import trace_list

    if args.trace_command == "list":
        return _list(args, "溯源调查", trace_list, {
            "case_no": "信访件编号", "county_name": "县区", "traced_on": "溯源日期", "cause": "成因",
            "unit_name": "责任单位"})
    engine, actor = _engine_actor(args)
    record_id = actions.add_trace(engine, actor, args.case_no, traced_on=args.date, cause=args.cause,
                                  responsible_unit=args.unit)
    return _added(args, "trace", record_id, f"已登记溯源调查 #{record_id}。")


def cmd_casework(args) -> int:
    from queries.accountability import clearance_states

    command = args.casework_command
    if command == "list":
        return _list(args, "积案销号", clearance_states, {
            "case_no": "信访件编号", "region_name": "县区", "leader_name": "包案领导", "state": "状态",
            "decided_on": "日期", "approved_by": "批准人"}, {"state": acc.CLEARANCE_KINDS})
    engine, actor = _engine_actor(args)
    if command == "plan":
        missing = actions.save_case_plan(engine, actor, args.case_no, leader=args.leader, measures=args.measures,
                                         target_date=args.target, responsible_person=args.person,
                                         responsible_unit=args.unit)
        _cli()._print({"case_no": args.case_no, "missing": missing}, args.json,
                      "已登记四定四包" + (f"，尚缺：{'、'.join(missing)}。" if missing else "，四定齐全。"))
        return _cli().EXIT_OK
    if command == "step":
        actions.record_case_step(engine, actor, args.case_no, args.step, done_on=args.date, note=args.note)
        return _added(args, "step", None, f"已登记 {args.case_no} 的 2453 步骤 {args.step}。")
    act = actions.clear_backlog_case if command == "clear" else actions.reopen_backlog_case
    record_id = act(engine, actor, args.case_no, on=args.date, approved_by=args.approved_by, note=args.note)
    return _added(args, command, record_id, f"{args.case_no} 已{'销号' if command == 'clear' else '再次督办'}。")


def cmd_records(args) -> int:
    from dashboard.ledger import LedgerError
    from dashboard.record_import import KINDS, read_rows, rejected_csv

    cli = _cli()
    engine, actor = _engine_actor(args)
    actions.require(engine, actor, KINDS[args.kind].permission, action_name="records_import", target=args.file)
    path = Path(args.file)
    if not path.is_file():
        raise cli._fatal(args, f"找不到文件 {path}，请检查路径。")
    try:
        rows = read_rows(path.read_bytes(), path.name, args.encoding)
        result = actions.import_records(engine, actor, args.kind, rows, file_name=path.name, dry_run=args.dry_run)
    except LedgerError as error:
        raise cli._fatal(args, str(error)) from None
    except OSError as error:
        raise cli._fatal(args, f"无法读取 {path.name}：{error.strerror or error}。") from None
    payload = {"file": str(path), **result.as_dict()}
    if result.rejected:
        target = Path(args.rejected) if args.rejected else path.with_name(path.stem + ".rejected.csv")
        target.write_bytes(rejected_csv(result))
        payload["rejected_file"] = str(target)
    lines = [f"{path.name}（{KINDS[args.kind].title}）：共 {result.rows} 行；"
             + ("（试运行，未写入）可写入 " if args.dry_run else "写入 ") + f"{result.written}，拒绝 {len(result.rejected)}。"]
    lines += [f"  第 {r.row} 行" + (f" [{r.column}]" if r.column else "") + f"：{r.reason}" for r in result.rejected[:50]]
    if result.rejected:
        lines.append(f"被拒行已写入 {payload['rejected_file']}，修改后可再次导入。")
    cli._print(payload, args.json, "\n".join(lines))
    return cli.EXIT_ERROR if result.rejected else cli.EXIT_OK
