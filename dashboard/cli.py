"""Command line: `python -m dashboard ...` for set-up, indicators and draws.

`--json` outputs are a contract: keys stay stable once published.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError, ProgrammingError

from dashboard import config, db
from dashboard.deadlines import DEFAULT_PRESET, describe_limit
from dashboard.draws import DrawError, record_draw
from dashboard.labels import COLORS, DOMAINS, REMINDER_LEVELS, TRACKS
from dashboard.models import regions
from dashboard.setup import DatabaseNotEmpty, initialise

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class UserError(Exception):
    """Bad input: the message says what is wrong and what to do, in Chinese."""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期格式不对：{text!r}，请用 YYYY-MM-DD，例如 2026-03-05。") from None


def _datetime(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text.strip().replace("T", " "))
    except ValueError:
        raise argparse.ArgumentTypeError(f"时间格式不对：{text!r}，请写成 2026-12-01 14:30。") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"应为正整数：{text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own errors, shown in Chinese context
        self.print_usage(sys.stderr)
        sys.stderr.write(f"参数错误：{message}\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m dashboard", description="信访督查看板 命令行")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    init = sub.add_parser("init", help="建库；加 --sample 载入示例城市")
    init.add_argument("--sample", action="store_true", help="载入虚构示例城市及其案件")
    init.add_argument("--cases", type=_positive, default=config.DEFAULT_SAMPLE_CASES, help="示例案件数")
    init.add_argument("--seed", type=int, default=config.DEFAULT_SAMPLE_SEED, help="随机种子（结果可复现）")
    init.add_argument("--force", action="store_true", help="数据库非空时删除重建")
    init.add_argument("--json", action="store_true")

    kpi = sub.add_parser("kpi", help="指标（domain.md §6）")
    kpi.add_argument("--from", dest="date_from", type=_date, help="起始日期（含），默认本年 1 月 1 日")
    kpi.add_argument("--to", dest="date_to", type=_date, help="截止日期（含），默认今天")
    kpi.add_argument("--region", help="区划代码，默认全市")
    kpi.add_argument("--json", action="store_true")

    draw = sub.add_parser("draw", help="随机抽查未化解积案")
    draw.add_argument("--n", type=_positive, required=True, help="抽取件数")
    draw.add_argument("--seed", help="随机种子；不填则自动生成（或用 --meeting 会前承诺的种子）")
    draw.add_argument("--method", choices=["simple", "stratified", "weighted"], default="simple",
                      help="simple 简单随机；stratified 按县区分层；weighted 加权")
    draw.add_argument("--per-county", action="store_true", help="每个县区至少抽一件（即 --method stratified --k 1）")
    draw.add_argument("--k", type=int, default=1, help="分层抽取时每个县区至少抽取的件数")
    draw.add_argument("--weight-by", choices=["age", "color"], default="age", help="加权依据：积案年限或督办颜色")
    draw.add_argument("--meeting", type=_positive, help="督查会编号：使用该会会前承诺的种子并归入该会")
    draw.add_argument("--exclude-last", type=int, default=0, help="排除最近 K 次会议已抽过的案件")
    draw.add_argument("--replaces", type=_positive, help="重新抽取：被替换的抽查记录编号")
    draw.add_argument("--reason", help="重新抽取的理由")
    draw.add_argument("--region", help="区划代码，默认全市")
    draw.add_argument("--by", default="命令行", help="抽取人")
    draw.add_argument("--json", action="store_true")

    verify = sub.add_parser("verify-draw", help="按记录重算一次抽查，核验是否被改动")
    verify.add_argument("draw_id", type=_positive)
    verify.add_argument("--json", action="store_true")

    meeting = sub.add_parser("meeting", help="督查会：会前承诺种子、列出会议")
    meeting_sub = meeting.add_subparsers(dest="meeting_command", required=True, parser_class=_Parser)
    meeting_create = meeting_sub.add_parser("create", help="新建督查会（默认生成并承诺随机种子）")
    meeting_create.add_argument("--title", required=True, help="会议名称")
    meeting_create.add_argument("--at", required=True, type=_datetime, help="会议时间，如 2026-12-01 14:30")
    meeting_create.add_argument("--region", help="区划代码，默认全市")
    meeting_create.add_argument("--by", default="命令行", help="组织人")
    meeting_create.add_argument("--no-commit", action="store_true", help="不预先生成种子")
    meeting_create.add_argument("--json", action="store_true")
    meeting_list = meeting_sub.add_parser("list", help="列出督查会")
    meeting_list.add_argument("--json", action="store_true")

    agenda = sub.add_parser("agenda", help="导出抽查会议议程（Excel 和可打印页面）")
    agenda.add_argument("draw_id", type=_positive)
    agenda.add_argument("--xlsx", help="Excel 文件路径")
    agenda.add_argument("--html", help="可打印 HTML 文件路径（A4，每件一页）")

    case = sub.add_parser("case", help="查看一件信访件及其计算期限")
    case.add_argument("case_no", help="信访件编号")
    case.add_argument("--json", action="store_true")

    extend = sub.add_parser("extend", help="批准延长一件信访件的办理期限")
    extend.add_argument("case_no", help="信访件编号")
    extend.add_argument("--days", type=_positive, required=True, help="延长天数")
    extend.add_argument("--reason", required=True, help="延期理由")
    extend.add_argument("--approver", required=True, help="批准人")
    extend.add_argument("--json", action="store_true")

    remind = sub.add_parser("remind", help="“115”催办：列出并登记当天到期的提醒")
    remind.add_argument("--date", type=_date, help="日期，默认今天")
    remind.add_argument("--json", action="store_true")

    rules = sub.add_parser("rules", help="时限规则：查看预设与各县区适用")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True, parser_class=_Parser)
    rules_list = rules_sub.add_parser("list", help="列出预设规则和各县区适用情况")
    rules_list.add_argument("--json", action="store_true")
    assign = rules_sub.add_parser("assign", help="设定县区（或全市默认）适用的预设规则")
    assign.add_argument("--region", required=True, help="县区代码（6 位），或市代码（全市默认）")
    assign.add_argument("--preset", required=True, help="预设规则名，如 national、tongling-210")
    assign.add_argument("--track", help="办理程序：general / simple / consultation / green；不填为全部")

    ledger = sub.add_parser("import", help="导入信访事项台账（Excel 或 CSV）")
    ledger.add_argument("file", help="台账文件 .xlsx / .xls / .csv")
    ledger.add_argument("--mapping", help="列名对照文件（TOML 或 YAML，[columns] 原表头 = 字段名）")
    ledger.add_argument("--encoding", help="CSV 编码，默认自动识别 UTF-8 / GBK")
    ledger.add_argument("--dry-run", action="store_true", help="只检查，不写入")
    ledger.add_argument("--rejected", help="被拒行的输出文件，默认 <文件名>.rejected.csv")
    ledger.add_argument("--json", action="store_true")

    region = sub.add_parser("regions", help="区划：导入区划清单和乡镇边界")
    region_sub = region.add_subparsers(dest="regions_command", required=True, parser_class=_Parser)
    region_import = region_sub.add_parser("import", help="导入区划 CSV 或乡镇边界 GeoJSON")
    region_import.add_argument("file", help="CSV（code,name,level,parent_code,lon,lat,population）或 .geojson")
    region_import.add_argument("--json", action="store_true")

    calendar = sub.add_parser("calendar", help="节假日安排")
    calendar_sub = calendar.add_subparsers(dest="calendar_command", required=True, parser_class=_Parser)
    calendar_import = calendar_sub.add_parser("import", help="导入国务院节假日安排（CSV：日期,类型,名称）")
    calendar_import.add_argument("file", help="CSV 文件，类型为 holiday（放假）或 workday（调休上班）")
    calendar_sub.add_parser("list", help="各年份节假日安排的来源")
    return parser


def _print(payload, as_json: bool, text: str) -> None:
    if as_json:
        print(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
    else:
        print(text)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def cmd_init(args) -> int:
    engine = db.make_engine()

    def progress(fraction: float, message: str) -> None:
        if not args.json:
            print(f"[{fraction:5.0%}] {message}", file=sys.stderr)

    try:
        summary = initialise(
            engine, sample=args.sample, cases=args.cases, seed=args.seed, force=args.force,
            progress=progress,
        )
    except DatabaseNotEmpty as error:
        raise UserError(str(error)) from None
    _print(summary, args.json, f"数据库已就绪：{engine.url.render_as_string(hide_password=True)}\n{summary}")
    return EXIT_OK


def cmd_kpi(args) -> int:
    from queries.filters import Filters, scope_for
    from queries.kpi import indicators

    filters = Filters(date_from=args.date_from, date_to=args.date_to)
    start, end = filters.period
    if start > end:
        raise UserError(f"起始日期 {start} 晚于截止日期 {end}，请检查 --from/--to。")
    with db.make_engine().connect() as conn:
        scope = scope_for(conn, args.region)
        result = indicators(conn, scope, filters)
    lines = [
        f"{result['region_name']}（{result['region']}） {result['period_from']} 至 {result['period_to']}",
        f"信访总量 {result['total']} 件，去年同期 {result['total_same_period_last_year']} 件，同比 {_rate(result['yoy'])}",
        f"网上信访占比 {_rate(result['online_share'])}",
        f"及时受理率 {_rate(result['timely_acceptance_rate'])}，按期办结率 {_rate(result['on_time_closure_rate'])}",
        f"参评率 {_rate(result['evaluation_rate'])}，满意率 {_rate(result['satisfaction_rate'])}",
        f"积案 {result['backlog_total']} 件，已化解 {result['backlog_resolved']} 件，化解率 {_rate(result['backlog_resolution_rate'])}",
        f"集体访 {result['collective_batches']} 批 {result['collective_persons']} 人次；"
        f"赴省 {result['escalated_province_batches']} 批，进京 {result['escalated_beijing_batches']} 批",
        "期末在办：" + "，".join(f"{COLORS[c]} {n} 件" for c, n in result["colors"].items()),
    ]
    _print(result, args.json, "\n".join(lines))
    return EXIT_OK


def cmd_draw(args) -> int:
    from dashboard.draws import DrawSpec, meeting_seed
    from queries.filters import Filters, scope_for
    from queries.spot_check import CandidateOptions, draw_candidates, drawn_cases

    method = "stratified" if args.per_county else args.method
    engine = db.make_engine()
    today = config.today()
    try:
        spec = DrawSpec(n=args.n, method=method, min_per_county=args.k,
                        weight_by=args.weight_by if method == "weighted" else None)
        with engine.begin() as conn:
            scope = scope_for(conn, args.region)
            seed = args.seed
            if args.meeting and not seed:
                seed, _ = meeting_seed(conn, args.meeting)
            options = CandidateOptions(exclude_last=max(0, args.exclude_last))
            candidates = draw_candidates(conn, scope, Filters(), today, options, spec.weight_by)
            draw_id, seed, _ = record_draw(
                conn, candidates, args.n, seed=seed, spec=spec, created_by=args.by,
                scope_code=scope.region_code, meeting_id=args.meeting,
                replaces_draw_id=args.replaces, redraw_reason=args.reason,
                params={"region": scope.region_code, "exclude_last": options.exclude_last,
                        "as_of": today.isoformat()},
            )
    except DrawError as error:
        raise UserError(str(error)) from None
    with engine.connect() as conn:
        frame = drawn_cases(conn, scope, draw_id, today)
    payload = {
        "draw_id": draw_id,
        "seed": seed,
        "method": method,
        "candidate_count": len(candidates),
        "meeting_id": args.meeting,
        "replaces_draw_id": args.replaces,
        "cases": [
            {
                "position": int(row.position),
                "case_no": row.case_no,
                "county": row.county_name,
                "township": row.township_name,
                "domain": row.domain,
                "days_open": int(row.days_open),
                "color": row.color,
                "leader": row.leader_name if isinstance(row.leader_name, str) else None,
                "unit": row.unit_name,
            }
            for row in frame.itertuples()
        ],
    }
    lines = [f"抽查记录 #{draw_id}，种子 {seed}，候选 {len(candidates)} 件，抽中 {len(frame)} 件："]
    lines += [
        f"{c['position']:>3}. {c['case_no']} {c['county']}{c['township'] or ''} 已 {c['days_open']} 天 包案领导 {c['leader'] or '—'}"
        for c in payload["cases"]
    ]
    _print(payload, args.json, "\n".join(lines))
    return EXIT_OK


def cmd_verify_draw(args) -> int:
    from dashboard.draws import verify_draw

    with db.make_engine().connect() as conn:
        try:
            result = verify_draw(conn, args.draw_id)
        except DrawError as error:
            raise UserError(str(error)) from None
    payload = {"draw_id": result.draw_id, "ok": result.ok, "checks": result.checks}
    lines = [f"抽查记录 #{result.draw_id}：" + ("核验通过，抽取结果可复现、记录未被改动。" if result.ok else "核验未通过！")]
    lines += [f"  [{'✓' if c['ok'] else '✗'}] {c['detail']}" for c in result.checks]
    _print(payload, args.json, "\n".join(lines))
    return EXIT_OK if result.ok else EXIT_ERROR


def cmd_meeting(args) -> int:
    from dashboard.meetings import create_meeting
    from queries.filters import scope_for
    from queries.meetings import meeting_list

    engine = db.make_engine()
    if args.meeting_command == "list":
        with engine.connect() as conn:
            frame = meeting_list(conn, scope_for(conn))
        payload = [
            {"meeting_id": int(r.meeting_id), "title": r.title, "scheduled_at": r.scheduled_at.isoformat(sep=" "),
             "seed_commitment": r.seed_commitment, "revealed": r.revealed_at is not None and not pd.isna(r.revealed_at),
             "draws": int(r.n_draws)}
            for r in frame.itertuples()
        ]
        _print(payload, args.json, "\n".join(
            f"#{m['meeting_id']} {m['scheduled_at']} {m['title']} 承诺值 {m['seed_commitment'] or '—'}" for m in payload
        ) or "还没有督查会。")
        return EXIT_OK
    try:
        with engine.begin() as conn:
            scope = scope_for(conn, args.region)
            meeting_id, digest = create_meeting(
                conn, title=args.title, scheduled_at=args.at, scope_code=scope.region_code,
                created_by=args.by, commit_seed=not args.no_commit,
            )
    except DrawError as error:
        raise UserError(str(error)) from None
    payload = {"meeting_id": meeting_id, "title": args.title, "scheduled_at": args.at.isoformat(sep=" "),
               "seed_commitment": digest}
    _print(payload, args.json, f"已建督查会 #{meeting_id}：{args.title}（{args.at:%Y-%m-%d %H:%M}）"
           + (f"\n种子承诺值（SHA-256，请随会议通知公布）：{digest}" if digest else ""))
    return EXIT_OK


def cmd_agenda(args) -> int:
    from dashboard.agenda import agenda_excel, agenda_html
    from queries.filters import scope_for
    from queries.meetings import agenda

    if not args.xlsx and not args.html:
        raise UserError("请用 --xlsx 或 --html 指定导出文件。")
    with db.make_engine().connect() as conn:
        scope = scope_for(conn)
        frame = agenda(conn, scope, args.draw_id, config.today())
    if frame.empty:
        raise UserError(f"抽查记录 #{args.draw_id} 不存在或没有抽中案件。")
    title = f"督查会议程 · 抽查记录 #{args.draw_id}"
    if args.xlsx:
        Path(args.xlsx).write_bytes(agenda_excel(frame, title))
    if args.html:
        Path(args.html).write_text(agenda_html(frame, title, f"共 {len(frame)} 件 · {config.today():%Y-%m-%d}"),
                                   encoding="utf-8")
    print("已导出：" + "、".join(p for p in (args.xlsx, args.html) if p))
    return EXIT_OK


def _iso(value) -> str | None:
    return value.isoformat() if value is not None and not pd.isna(value) else None


def cmd_case(args) -> int:
    from queries.cases import case_detail
    from queries.filters import Filters, scope_for
    from queries.reminders import reminder_log

    today = config.today()
    with db.make_engine().connect() as conn:
        scope = scope_for(conn)
        frame = case_detail(conn, scope, args.case_no, today)
        if frame.empty:
            raise UserError(f"信访件编号 {args.case_no} 不存在，请检查编号（例如 YX2026-02-000123）。")
        row = frame.iloc[0]
        log = reminder_log(conn, scope, Filters(), case_id=int(row["case_id"]))
    color = row["color"] if isinstance(row["color"], str) else None
    payload = {
        "case_no": row["case_no"],
        "preset": row["preset"],
        "acceptance_due": _iso(row["acceptance_due"]),
        "handling_due": _iso(row["handling_due"]),
        "feedback_due": _iso(row["feedback_due"]),
        "meeting_due": _iso(row["meeting_due"]),
        "extension_days": int(row["extension_days"] or 0),
        "stage": row["stage"] if isinstance(row["stage"], str) else None,
        "color": color,
        "days_left": None if pd.isna(row["days_left"]) else int(row["days_left"]),
        "provisional": bool(row["deadline_provisional"]),
        "reminders": [
            {"date": _iso(r.reminded_on), "level": r.level, "due": _iso(r.handling_due),
             "days_left": int(r.days_left), "unit": r.unit_name}
            for r in log.itertuples()
        ],
    }
    lines = [
        f"{payload['case_no']} {row['county_name']}{row['township_name'] or ''} · {DOMAINS.get(row['domain'], row['domain'])}",
        f"适用规则：{row['preset_title'] or payload['preset']}",
        f"受理期限 {payload['acceptance_due'] or '—'}；办理期限 {payload['handling_due'] or '—'}"
        + (f"（含延期 {payload['extension_days']} 日）" if payload["extension_days"] else ""),
        "督办颜色：" + (COLORS[color] + f"，剩余 {payload['days_left']} 天" if color else "无（已办结）"),
    ]
    if payload["provisional"]:
        lines.append("注意：期限所在年份尚未导入节假日安排，暂按周末推算。")
    lines += [f"催办 {r['date']} {REMINDER_LEVELS[r['level']]}" for r in payload["reminders"]]
    _print(payload, args.json, "\n".join(lines))
    return EXIT_OK


def cmd_extend(args) -> int:
    from dashboard.deadlines import RuleError, extend

    with db.make_engine().begin() as conn:
        try:
            due = extend(conn, args.case_no, args.days, reason=args.reason, approver=args.approver,
                         on=config.today())
        except RuleError as error:
            raise UserError(str(error)) from None
    payload = {"case_no": args.case_no, "handling_due": due.isoformat(), "days": args.days}
    _print(payload, args.json, f"{args.case_no} 已延期 {args.days} 日，新的办理期限 {due:%Y-%m-%d}。")
    return EXIT_OK


def cmd_remind(args) -> int:
    from dashboard.reminders import record
    from queries.filters import Filters, scope_for
    from queries.reminders import reminder_queue

    on = args.date or config.today()
    with db.make_engine().begin() as conn:
        scope = scope_for(conn)
        queue = reminder_queue(conn, scope, Filters(), on)
        new = record(conn, queue, on)
    payload = [
        {"case_no": r.case_no, "unit": r.unit_name, "level": r.level, "due": _iso(r.due),
         "days_left": int(r.days_left), "provisional": bool(r.provisional)}
        for r in queue.itertuples()
    ]
    lines = [f"{on:%Y-%m-%d} 催办 {len(payload)} 件（新登记 {new} 件，其余当日已登记）："]
    lines += [f"[{REMINDER_LEVELS[p['level']]}] {p['case_no']} {p['unit'] or '—'} 期限 {p['due']} 剩余 {p['days_left']} 天"
              for p in payload]
    _print(payload, args.json, "\n".join(lines))
    return EXIT_OK


def cmd_rules(args) -> int:
    from dashboard.deadlines import RuleError, assign_preset, load_assignments, load_presets

    if args.rules_command == "assign":
        with db.make_engine().begin() as conn:
            try:
                changed = assign_preset(conn, args.region, args.preset, args.track)
            except RuleError as error:
                raise UserError(str(error)) from None
        track = TRACKS.get(args.track, "全部办理程序") if args.track else "全部办理程序"
        print(f"已设定：{args.region} {track} 适用 {args.preset}；重新计算期限 {changed} 件。")
        return EXIT_OK
    with db.make_engine().connect() as conn:
        presets = load_presets(conn)
        assignments = load_assignments(conn)
        names = dict(conn.execute(sa.select(regions.c.code, regions.c.name)).all())
    payload = {
        "presets": [vars(p) for p in presets.values()],
        "assignments": [{"region": r, "region_name": names.get(r), "track": t, "preset": p}
                        for (r, t), p in sorted(assignments.items())],
        "default": DEFAULT_PRESET,
    }
    lines = ["预设规则："]
    for p in presets.values():
        lines.append(f"  {p.name:<14} {p.title}：受理 {describe_limit(p.acceptance_days, p.acceptance_unit)}，"
                     f"办理 {describe_limit(p.handling_days, p.handling_unit)}"
                     + (f"，可延期 {p.max_extensions} 次 × {p.extension_max_days} 日" if p.max_extensions else "，不可延期"))
    lines.append(f"适用（未设定的县区用全市默认，全市默认为 {DEFAULT_PRESET}）：")
    lines += [f"  {a['region']} {a['region_name']} {TRACKS.get(a['track'], '全部程序')} → {a['preset']}"
              for a in payload["assignments"]] or ["  （无单独设定）"]
    _print(payload, args.json, "\n".join(lines))
    return EXIT_OK


def cmd_calendar(args) -> int:
    from dashboard.deadlines import recompute
    from dashboard.workdays import (
        CalendarFileError,
        import_holidays,
        parse_holiday_csv,
        schedule_years,
    )

    engine = db.make_engine()
    if args.calendar_command == "list":
        with engine.connect() as conn:
            years = schedule_years(conn)
        sources = {"package": "chinese-calendar 软件包", "table": "管理员导入", "weekends": "未导入（仅按周末推算）"}
        print("\n".join(f"{y['year']} 年：{sources[y['source']]}" for y in years))
        return EXIT_OK
    path = Path(args.file)
    if not path.is_file():
        raise UserError(f"找不到文件 {path}，请检查路径。")
    try:
        rows = parse_holiday_csv(path.read_bytes(), path.name)
    except CalendarFileError as error:
        raise UserError(str(error)) from None
    with engine.begin() as conn:
        counts = import_holidays(conn, rows)
        changed = recompute(conn)
    print("已导入：" + "，".join(f"{y} 年 {n} 天" for y, n in counts.items()) + f"；重新计算期限 {changed} 件。")
    return EXIT_OK


def _fatal(args, message: str) -> UserError:
    """Bad input of import / regions import: with --json also a JSON object on stdout."""
    if getattr(args, "json", False):
        print(json.dumps({"error": message, "exit_code": EXIT_USAGE}, ensure_ascii=False))
    return UserError(message)


def cmd_import(args) -> int:
    from dashboard.ledger import LedgerError, import_ledger, load_mapping, read_table, rejected_csv

    path = Path(args.file)
    if not path.is_file():
        raise _fatal(args, f"找不到文件 {path}，请检查路径。")
    try:
        mapping = load_mapping(args.mapping) if args.mapping else None
        rows = read_table(path.read_bytes(), path.name, args.encoding)
        with db.make_engine().begin() as conn:
            result = import_ledger(conn, rows, mapping=mapping, dry_run=args.dry_run,
                                   progress=None if args.json else
                                   (lambda f, m: print(f"[{f:4.0%}] {m}", file=sys.stderr)))
    except LedgerError as error:
        raise _fatal(args, str(error)) from None
    except OSError as error:
        raise _fatal(args, f"无法读取 {path.name}：{error.strerror or error}。") from None
    payload = {"file": str(path), **result.as_dict()}
    if result.rejected:
        target = Path(args.rejected) if args.rejected else path.with_name(path.stem + ".rejected.csv")
        target.write_bytes(rejected_csv(result))
        payload["rejected_file"] = str(target)
    lines = [
        f"{path.name}：共 {result.rows} 行；" + ("（试运行，未写入）将" if args.dry_run else "")
        + f"新增 {result.new}，更新 {result.updated}，未变 {result.unchanged}，拒绝 {result.rejected_count}。",
    ]
    if result.new_units:
        lines.append(("将新建单位：" if args.dry_run else "新建单位：") + "、".join(result.new_units))
    if result.new_leaders:
        lines.append(("将新建包案领导：" if args.dry_run else "新建包案领导：") + "、".join(result.new_leaders))
    lines += [f"  第 {r.row} 行 [{r.column}] {r.value!r}：{r.reason}" for r in result.rejected[:50]]
    if len(result.rejected) > 50:
        lines.append(f"  ……共 {len(result.rejected)} 处问题")
    if result.rejected:
        lines.append(f"被拒行已写入 {payload['rejected_file']}，修改后可再次导入。")
    _print(payload, args.json, "\n".join(lines))
    return EXIT_ERROR if result.rejected else EXIT_OK


def cmd_regions(args) -> int:
    from dashboard.deadlines import seed_presets
    from dashboard.ledger import LedgerError
    from dashboard.region_import import import_boundaries, import_region_csv

    path = Path(args.file)
    if not path.is_file():
        raise _fatal(args, f"找不到文件 {path}，请检查路径。")
    engine = db.make_engine()
    db.create_schema(engine)
    try:
        with engine.begin() as conn:
            seed_presets(conn)
            if path.suffix.lower() in (".geojson", ".json"):
                summary = import_boundaries(conn, path.read_bytes(), path.name)
                text = f"已导入 {summary['boundaries']} 个乡镇边界。"
            else:
                summary = import_region_csv(conn, path.read_bytes(), path.name)
                text = f"已导入区划：新增 {summary['new']}，更新 {summary['updated']}。"
    except LedgerError as error:
        raise _fatal(args, str(error)) from None
    except OSError as error:
        raise _fatal(args, f"无法读取 {path.name}：{error.strerror or error}。") from None
    _print({"file": str(path), **summary}, args.json, text)
    return EXIT_OK


COMMANDS = {
    "import": cmd_import, "regions": cmd_regions,
    "init": cmd_init, "kpi": cmd_kpi, "draw": cmd_draw, "verify-draw": cmd_verify_draw,
    "meeting": cmd_meeting, "agenda": cmd_agenda, "case": cmd_case, "extend": cmd_extend,
    "remind": cmd_remind, "rules": cmd_rules, "calendar": cmd_calendar,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from queries.filters import UnknownRegion

    try:
        return COMMANDS[args.command](args)
    except (UserError, UnknownRegion) as error:
        print(f"错误：{error}", file=sys.stderr)
        return EXIT_USAGE
    except (OperationalError, ProgrammingError) as error:
        try:
            missing = db.missing_columns(db.make_engine())
        except Exception:  # the database itself cannot be opened
            missing = []
        if missing:
            print(f"错误：数据库结构是旧版本（缺少 {missing[0]} 等 {len(missing)} 个字段）。"
                  "请备份后运行 `python -m dashboard init --sample --force` 重建，或重新导入台账。", file=sys.stderr)
            return EXIT_ERROR
        print(
            "错误：无法读取数据库（" + type(error.orig).__name__ + "）。"
            "请先运行 `python -m dashboard init --sample`，或检查 DATABASE_URL。",
            file=sys.stderr,
        )
        return EXIT_ERROR
