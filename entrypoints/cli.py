"""Command line: `python -m dashboard ...` for set-up, indicators and draws.

`--json` outputs are a contract: keys stay stable once published.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError, ProgrammingError

from dashboard import actions, audit, auth, config, db
from dashboard.deadlines import DEFAULT_PRESET, LIMIT_NAMES, describe_limit
from dashboard.draws import METHODS, WEIGHT_BY, DrawError
from dashboard.labels import (
    ASSIGNMENT_STATUS,
    CALENDAR_SOURCES,
    COLORS,
    DOMAINS,
    REMINDER_LEVELS,
    STAGE_DEADLINES,
    TRACKS,
    days_left_text,
    percent_text,
)
from dashboard.models import regions
from dashboard.permissions import ROLES, Actor, Refused
from dashboard.scope import UnknownRegion, scope_for
from entrypoints.setup import DatabaseNotEmpty, initialise

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3


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


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"应为 0 或正整数：{text!r}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"应为正整数：{text!r}")
    return value


def _case_sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        sizes = []
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError(f"应为正整数，多个用逗号分隔，例如 50000,1000000：{text!r}")
    return sizes


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own errors, shown in Chinese context
        self.print_usage(sys.stderr)
        sys.stderr.write(f"参数错误：{message}\n")
        raise SystemExit(EXIT_USAGE)


USER_HELP = "以此用户的角色和区划执行（也可设环境变量 DASHBOARD_USER）；修改数据的命令必须指定"


def build_parser() -> argparse.ArgumentParser:
    # --user may stand before or after the command; after it, it overrides.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--user", default=argparse.SUPPRESS, help=USER_HELP)
    parser = _Parser(prog="python -m dashboard", description="信访督查看板 命令行")
    parser.add_argument("--user", help=USER_HELP)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_parser = sub.add_parser
    sub.add_parser = lambda *a, **k: _add_parser(*a, parents=[common, *k.pop("parents", [])], **k)

    init = sub.add_parser("init", help="建库；加 --sample 载入示例城市")
    init.add_argument("--sample", action="store_true", help="载入虚构示例城市及其案件")
    init.add_argument("--cases", type=_positive, default=config.DEFAULT_SAMPLE_CASES, help="示例案件数")
    init.add_argument("--seed", type=int, default=config.DEFAULT_SAMPLE_SEED, help="随机种子（结果可复现）")
    init.add_argument("--force", action="store_true", help="数据库非空时删除重建")
    init.add_argument("--json", action="store_true")

    refresh = sub.add_parser("refresh", help="重建汇总表和三色状态（每日凌晨运行一次，如 cron）")
    refresh.add_argument("--json", action="store_true")

    kpi = sub.add_parser("kpi", help="指标（domain.md §6）")
    kpi.add_argument("--from", dest="date_from", type=_date, help="起始日期（含），默认本年 1 月 1 日")
    kpi.add_argument("--to", dest="date_to", type=_date, help="截止日期（含），默认今天")
    kpi.add_argument("--region", help="区划代码，默认全市")
    kpi.add_argument("--json", action="store_true")

    _add_draw_arguments(sub.add_parser("draw", help="随机抽查未化解积案"))

    verify = sub.add_parser("verify-draw", help="按记录重算一次抽查，核验是否被改动")
    verify.add_argument("draw_id", type=_positive)
    verify.add_argument("--expect-head", metavar="DIGEST",
                        help="会议纪要（或议程）中记下的存证链最新摘要：核对存证链此后未被改写")
    verify.add_argument("--expect-length", type=_positive, metavar="N",
                        help="纪要中记下的存证链条数（与 --expect-head 同用）")
    verify.add_argument("--json", action="store_true")

    meeting = sub.add_parser("meeting", help="督查会：会前承诺种子、列出会议")
    meeting_sub = _with_user(meeting.add_subparsers(dest="meeting_command", required=True, parser_class=_Parser), common)
    meeting_create = meeting_sub.add_parser(
        "create", help="新建督查会：生成种子口令（只显示这一次）并公布其承诺值")
    meeting_create.add_argument("--title", required=True, help="会议名称")
    meeting_create.add_argument("--at", required=True, type=_datetime, help="会议时间，如 2026-12-01 14:30")
    meeting_create.add_argument("--region", help="区划代码，默认全市")
    meeting_create.add_argument("--public-value-rule", metavar="说明",
                                help="会上公布、与种子口令合成抽取种子的公开值，如“抽取当日福彩3D开奖号码”"
                                "（抽取时须用 --public-value 填写）")
    meeting_create.add_argument("--no-commit", action="store_true", help=argparse.SUPPRESS)  # refused
    meeting_create.add_argument("--json", action="store_true")
    meeting_list = meeting_sub.add_parser("list", help="列出督查会")
    meeting_list.add_argument("--json", action="store_true")

    agenda = sub.add_parser("agenda", help="导出抽查会议议程（Excel 和可打印页面）")
    agenda.add_argument("draw_id", type=_positive)
    agenda.add_argument("--xlsx", help="Excel 文件路径")
    agenda.add_argument("--html", help="可打印 HTML 文件路径（A4，每件一页）")

    case = sub.add_parser("case", help="查看一件信访件及其计算期限")
    case.add_argument("case_no", help="信访件编号")
    case.add_argument("--reveal", action="store_true", help="显示完整个人信息（仅信访局角色，须写 --reason，留痕）")
    case.add_argument("--reason", help="查看完整个人信息的理由")
    case.add_argument("--json", action="store_true")

    extend = sub.add_parser("extend", help="批准延长一件信访件的办理期限")
    extend.add_argument("case_no", help="信访件编号")
    extend.add_argument("--days", type=_positive, required=True, help="延长天数")
    extend.add_argument("--reason", required=True, help="延期理由")
    extend.add_argument("--approver", help="批准人，默认为执行命令的用户")
    extend.add_argument("--json", action="store_true")

    remind = sub.add_parser("remind", help="“115”催办：列出并登记当天到期的提醒")
    remind.add_argument("--date", type=_date, help="日期，默认今天；未来日期只预览、不登记")
    remind.add_argument("--preview", action="store_true", help="只列出，不登记（不需要 --user）")
    remind.add_argument("--json", action="store_true")

    rules = sub.add_parser("rules", help="时限规则：查看、设定与修改预设")
    rules_sub = _with_user(rules.add_subparsers(dest="rules_command", required=True, parser_class=_Parser), common)
    rules_list = rules_sub.add_parser("list", help="列出预设规则和各县区适用情况（含历次设定）")
    rules_list.add_argument("--json", action="store_true")
    assign = rules_sub.add_parser("assign", help="设定县区（或全市默认）自某日起适用的预设规则")
    assign.add_argument("--region", required=True, help="县区代码（6 位），或市代码（全市默认）")
    assign.add_argument("--preset", required=True, help="预设规则名，如 national、tongling-210")
    assign.add_argument("--track", help="办理程序：general / simple / consultation / green；不填为全部")
    assign.add_argument("--from", dest="effective_from", type=_date,
                        help="生效日期（按登记日期适用），默认今天；此前登记的案件仍按原规则")
    edit = rules_sub.add_parser("edit", help="修改预设规则的一项时限（天数或自然日/工作日）")
    edit.add_argument("name", help="预设规则名，如 tongling-210")
    edit.add_argument("--limit", required=True, choices=list(LIMIT_NAMES),
                      help="acceptance 受理 / handling 办理 / extension 延期 / feedback 初步反馈 / "
                           "meeting 见面 / review 复查复核")
    edit.add_argument("--days", type=_non_negative, help="天数，0 表示当日")
    edit.add_argument("--unit", choices=["calendar", "working"], help="calendar 自然日 / working 工作日")

    ledger = sub.add_parser("import", help="导入信访事项台账（Excel 或 CSV）")
    ledger.add_argument("file", help="台账文件 .xlsx / .xls / .csv")
    ledger.add_argument("--mapping", help="列名对照文件（TOML 或 YAML，[columns] 原表头 = 字段名；"
                        "[values.字段名] 表中写法 = 代码）")
    ledger.add_argument("--encoding", help="CSV 编码，默认自动识别 UTF-8 / GBK")
    ledger.add_argument("--dry-run", action="store_true", help="只检查，不写入")
    ledger.add_argument("--rejected", help="被拒行的输出文件，默认 <文件名>.rejected.csv")
    ledger.add_argument("--json", action="store_true")

    region = sub.add_parser("regions", help="区划：导入区划清单和乡镇边界")
    region_sub = _with_user(region.add_subparsers(dest="regions_command", required=True, parser_class=_Parser), common)
    region_import = region_sub.add_parser("import", help="导入区划 CSV 或乡镇边界 GeoJSON")
    region_import.add_argument("file", help="CSV（code,name,level,parent_code,lon,lat,population）或 .geojson")
    region_import.add_argument("--json", action="store_true")

    bench = sub.add_parser("bench", help="基准测试：建库、各页查询和页面耗时（中位数）")
    bench.add_argument("--cases", type=_case_sizes, default=[config.DEFAULT_SAMPLE_CASES],
                       help="示例案件数，可用逗号给多个规模比较，如 50000,1000000")
    bench.add_argument("--repeat", type=_positive, default=5, help="每项重复次数（取中位数）")
    bench.add_argument("--database-url", help="在这个空数据库上测（默认临时 SQLite 文件）")
    bench.add_argument("--no-pages", action="store_true", help="只测查询，不测页面")
    bench.add_argument("--import-rows", type=int, default=0, help="另测导入这么多行新台账及其重复导入（默认不测）")
    bench.add_argument("--reuse", action="store_true",
                       help="直接测 --database-url 指向的已载入数据的库（只读，不建库；案件数取库中实际数）")
    bench.add_argument("--json", action="store_true")

    loadtest = sub.add_parser("loadtest", help="压力测试：多个会话同时登录并打开各页，报告各页耗时、服务 CPU 和错误")
    loadtest.add_argument("--sessions", type=_positive, default=30, help="同时打开的会话数（默认 30）")
    loadtest.add_argument("--url", help="测这个已运行的服务（如 http://127.0.0.1:8501）；默认临时启动一个")
    loadtest.add_argument("--server-pid", type=int, help="与 --url 同用：服务进程号，用于统计 CPU")
    loadtest.add_argument("--pages", default="overview,heatmap,supervision,case",
                          help="依次打开的页面（逗号分隔，默认 overview,heatmap,supervision,case）")
    loadtest.add_argument("--timeout", type=_positive, default=60, help="每次打开的时限（秒，默认 60）")
    loadtest.add_argument("--total-timeout", type=_positive, default=900, help="整个测试的时限（秒，默认 900）")
    loadtest.add_argument("--warmup", type=int, default=1, help="正式计时前先由几个会话依次预热（默认 1，不计入）")
    loadtest.add_argument("--processes", type=_positive, default=1,
                          help="临时启动几个服务进程，会话按编号固定分到各进程（如反向代理的会话保持；默认 1；与 --url 不同用）")
    loadtest.add_argument("--json", action="store_true")

    calendar = sub.add_parser("calendar", help="节假日安排")
    calendar_sub = _with_user(calendar.add_subparsers(dest="calendar_command", required=True, parser_class=_Parser), common)
    calendar_import = calendar_sub.add_parser("import", help="导入国务院节假日安排（CSV：日期,类型,名称）")
    calendar_import.add_argument("file", help="CSV 文件，类型为 holiday（放假）或 workday（调休上班）")
    calendar_sub.add_parser("list", help="各年份节假日安排的来源")

    user = sub.add_parser("user", help="用户：新建、列出、停用、重置密码（管理员）")
    user_sub = _with_user(user.add_subparsers(dest="user_command", required=True, parser_class=_Parser), common)
    user_add = user_sub.add_parser("add", help="新建用户")
    user_add.add_argument("name", help="用户名（登录名）")
    user_add.add_argument("--role", required=True, choices=list(ROLES),
                          help="角色：" + "、".join(f"{k} {v}" for k, v in ROLES.items()))
    user_add.add_argument("--region", help="区划代码：县领导为县区（6 位），乡镇为乡镇（9 位）")
    user_add.add_argument("--display-name", help="显示名，如 张三（临江县副县长）")
    user_add.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行）")
    user_add.add_argument("--json", action="store_true")
    user_list = user_sub.add_parser("list", help="列出用户")
    user_list.add_argument("--json", action="store_true")
    for verb, text in (("disable", "停用用户（不能再登录）"), ("enable", "重新启用用户")):
        user_sub.add_parser(verb, help=text).add_argument("name", help="用户名")
    reset = user_sub.add_parser("reset-password", help="重置密码（用户下次登录须修改）")
    reset.add_argument("name", help="用户名")
    reset.add_argument("--password-stdin", action="store_true", help="从标准输入读取新密码（一行）")

    audit_parser = sub.add_parser("audit", help="审计日志（管理员）")
    audit_sub = _with_user(audit_parser.add_subparsers(dest="audit_command", required=True, parser_class=_Parser),
                           common)
    audit_list = audit_sub.add_parser("list", help="列出审计记录（最新在前）")
    audit_list.add_argument("--from", dest="date_from", type=_date, help="起始日期（含）")
    audit_list.add_argument("--to", dest="date_to", type=_date, help="截止日期（含）")
    audit_list.add_argument("--of", dest="of_user", help="只列此用户的记录")
    audit_list.add_argument("--action", action="append", default=[], help="只列此类操作，可重复，如 reveal、export")
    audit_list.add_argument("--limit", type=_positive, help="最多列出条数")
    audit_list.add_argument("--json", action="store_true")

    verify_audit = sub.add_parser("verify-audit", help="核验审计日志的摘要链（管理员）")
    verify_audit.add_argument("--json", action="store_true")
    from entrypoints.records_cli import add_record_commands  # the accountability loop (issue 15)

    add_record_commands(sub, common)
    _add_warning_parsers(sub, common)
    return parser


def _with_user(subparsers, common):
    """Sub-subcommands take --user too."""
    add_parser = subparsers.add_parser
    subparsers.add_parser = lambda *a, **k: add_parser(*a, parents=[common, *k.pop("parents", [])], **k)
    return subparsers


def _print(payload, as_json: bool, text: str) -> None:
    if as_json:
        print(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
    else:
        print(text)


def _rate(value: float | None) -> str:
    return percent_text(value)


def _yoy(value: float | None) -> str:
    if value is None:
        return "同比 —"
    return f"同比{'上升' if value > 0 else '下降' if value < 0 else '持平'} {abs(value):.1%}"


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
    audit.record(engine, None, "init", user_name=None,
                 detail=("示例城市" if args.sample else "空库") + ("，重建" if args.force else ""))
    text = f"数据库已就绪：{engine.url.render_as_string(hide_password=True)}"
    if "upgraded" in summary:
        text += ("\n已有数据，已就地升级数据库结构（" + f"{summary['revision_before']} → {summary['revision']}），数据全部保留。"
                 if summary["upgraded"] else "\n已有数据，数据库结构已是最新，未做修改。")
        if args.sample:
            text += "未载入示例数据（如确需重建示例库，请加 --force，将删除现有全部数据）。"
    if summary.get("demo_users"):
        text += "\n示例城市的演示账号（密码见 README）：" + "、".join(summary["demo_users"])
    if summary.get("admin_password"):
        text += (f"\n已创建管理员账号 admin，一次性密码：{summary['admin_password']}"
                 "\n（只显示这一次，请妥善保管；首次登录须修改密码。）")
    _print(summary, args.json, text)
    return EXIT_OK


def _actor(engine, args) -> Actor:
    """The user the command acts as (--user / DASHBOARD_USER), or the read-only console."""
    name = getattr(args, "user", None) or os.environ.get("DASHBOARD_USER") or None
    with engine.connect() as conn:
        try:
            return auth.cli_actor(conn, name)
        except auth.AuthError as error:
            message = str(error)
    audit.record(engine, None, "signin_failed", user_name=name, outcome="denied", detail="命令行：" + message)
    raise Refused(message)


def _read_scope(engine, actor: Actor, region: str | None, what: str):
    """The scope of a read command: the actor's own, or a region inside it; the read is
    audited (refusals too)."""
    actions.require(engine, actor, "view", action_name="read", target=what)
    if region:
        with engine.connect() as conn:
            scope_for(conn, region)  # an unknown code is bad input (exit 2)
        actions.require_region(engine, actor, region, action_name="read", target=what)
        with engine.connect() as conn:
            scope = scope_for(conn, region)
    else:
        scope = actor.scope
    actions.record_view(engine, actor, "read", target=what, detail=f"区划 {scope.region_code}")
    return scope


def cmd_kpi(args) -> int:
    from queries.figures import all_indicators
    from queries.filters import Filters

    filters = Filters(date_from=args.date_from, date_to=args.date_to)
    start, end = filters.period
    if start > end:
        raise UserError(f"起始日期 {start} 晚于截止日期 {end}，请检查 --from/--to。")
    if end > config.today():
        # Colors and backlog are a snapshot at the period's end: a future end would
        # color today's open cases as if that day had come.
        raise UserError(f"截止日期 {end} 晚于今天（{config.today()}），数据只到今天，请把 --to 改为今天或更早。")
    engine = db.make_engine()
    actor = _actor(engine, args)
    scope = _read_scope(engine, actor, args.region, f"kpi {start}~{end}")
    with engine.connect() as conn:
        result = all_indicators(conn, scope, filters)
    lines = [
        f"{result['region_name']}（{result['region']}） {result['period_from']} 至 {result['period_to']}",
        f"信访总量 {result['total']} 件，去年同期 {result['total_same_period_last_year']} 件，{_yoy(result['yoy'])}",
        f"网上信访占比 {_rate(result['online_share'])}",
        f"及时受理率 {_rate(result['timely_acceptance_rate'])}，按期办结率 {_rate(result['on_time_closure_rate'])}",
        f"参评率 {_rate(result['evaluation_rate'])}，满意率 {_rate(result['satisfaction_rate'])}",
        f"积案 {result['backlog_total']} 件，已化解 {result['backlog_resolved']} 件，化解率 {_rate(result['backlog_resolution_rate'])}",
        f"集体访 {result['collective_batches']} 批 {result['collective_persons']} 人次；"
        f"赴省 {result['escalated_province_batches']} 批，进京 {result['escalated_beijing_batches']} 批",
        "期末在办：" + "，".join(f"{COLORS[c]} {n} 件" for c, n in result["colors"].items()),
        *_accountability_lines(result),
        f"平均办理天数 {'—' if result['average_handling_days'] is None else result['average_handling_days']}，"
        f"首办化解率 {_rate(result['first_resolution_rate'])}，重复信访率 {_rate(result['repeat_rate'])}",
    ]
    _print(result, args.json, "\n".join(lines))
    return EXIT_OK


def _accountability_lines(result: dict) -> list[str]:
    referrals = result["referrals"]
    return [
        f"领导接访 {result['receptions_held']}/{result['receptions_scheduled']} 次，接访完成率 "
        f"{_rate(result['reception_completion_rate'])}，接待 {result['reception_persons']} 人次；"
        f"五个必批阅批率 {_rate(result['instruction_rate'])}",
        f"纪委移送：典型案例 {referrals['typical']} 件，一般事项 {referrals['general']} 件，对账销号 {referrals['closed']} 件；"
        f"溯源调查 {result['traced']} 件，问责 {result['accountability_persons']} 人",
        f"回访率 {_rate(result['revisit_rate'])}；满意率：对信访部门 {_rate(result['satisfaction_rate_bureau'])}，"
        f"对责任部门 {_rate(result['satisfaction_rate_authority'])}；积案已销号 {result['backlog_cleared']} 件",
    ]


def _draw_choice(what: str, choices: dict[str, str]):
    """An argument type taking a code, its Chinese label or a word of it (积案年限);
    a Chinese message lists the choices."""
    def parse(text: str) -> str:
        value = text.strip()
        for code, name in choices.items():
            if value in (code, name):
                return code
        matching = [code for code, name in choices.items() if len(value) >= 2 and value in name]
        if len(matching) == 1:
            return matching[0]
        listed = "、".join(f"{code}（{name}）" for code, name in choices.items())
        raise argparse.ArgumentTypeError(f"{what} {text!r} 不存在，可选：{listed}")
    return parse


def _add_draw_arguments(draw: argparse.ArgumentParser) -> None:
    from dashboard.labels import BACKLOG_SOURCES, CHANNELS

    draw.add_argument("--n", type=_positive, required=True, help="抽取件数")
    draw.add_argument("--seed", help=argparse.SUPPRESS)  # refused: nobody chooses a seed
    draw.add_argument("--secret", metavar="口令", help="督查会的种子口令（建会时只显示一次，由组织人保管）")
    draw.add_argument("--public-value", metavar="值", help="建会时约定在会上公布的公开值（如开奖号码）")
    draw.add_argument("--method", type=_draw_choice("抽取方式", METHODS), metavar="simple|stratified|weighted",
                      help="simple 简单随机（默认）；stratified 按县区分层；weighted 加权")
    draw.add_argument("--per-county", action="store_true", help="每个县区至少抽一件（即 --method stratified --k 1）")
    draw.add_argument("--k", type=_non_negative, help="分层抽取时每个县区至少抽取的件数（默认 1，仅用于 stratified）")
    draw.add_argument("--weight-by", type=_draw_choice("加权依据", WEIGHT_BY), metavar="age|color",
                      help="加权依据：age 积案年限（默认）或 color 督办颜色（仅用于 weighted）")
    draw.add_argument("--meeting", type=_positive,
                      help="督查会编号：按该会会前承诺的种子抽取（须 --secret）并归入该会；"
                      "不指定时由系统生成随机种子")
    draw.add_argument("--exclude-last", type=_non_negative, default=0, metavar="K",
                      help="排除最近 K 次督查会已抽中的案件（同一督查会的多次抽取算一次；"
                      "不属于任何督查会的抽取每次各算一次；被替换的记录不算）")
    draw.add_argument("--replaces", type=_positive, help="重新抽取：被替换的抽查记录编号（须是该链上的当前记录）")
    draw.add_argument("--reason", help="重新抽取的理由")
    draw.add_argument("--region", help="区划代码（县区 6 位或乡镇 9 位），默认全市")
    draw.add_argument("--domain", action="append", type=_draw_choice("问题类别", DOMAINS), default=[],
                      help="问题类别，可重复，如 --domain land --domain labor（也可写中文：自然资源）")
    draw.add_argument("--channel", action="append", type=_draw_choice("信访形式", CHANNELS), default=[],
                      help="信访形式，可重复：letter / visit / online / phone / mailbox")
    draw.add_argument("--color", action="append", type=_draw_choice("督办颜色", COLORS), default=[],
                      help="督办颜色，可重复：red / yellow / green")
    draw.add_argument("--source", action="append", type=_draw_choice("积案来源", BACKLOG_SOURCES), default=[],
                      help="积案来源，可重复：national 国家局交办 / province 省局交办 / local 本地排查")
    draw.add_argument("--min-days", type=_non_negative, default=0, metavar="DAYS", help="最少已历时天数")
    draw.add_argument("--json", action="store_true")


def _draw_spec(args):
    """The method and its options; refuses options the method would silently ignore."""
    from dashboard.draws import DrawSpec

    method = args.method
    if args.per_county:
        if method not in (None, "stratified"):
            raise UserError(f"--per-county 即按县区分层抽取（--method stratified --k 1），不能与 --method {method} 同用。"
                            "请只保留其中一个。")
        if args.k not in (None, 1):
            raise UserError(f"--per-county 即每县区至少 1 件，不能与 --k {args.k} 同用；"
                            f"要每县区至少 {args.k} 件，请用 --method stratified --k {args.k}。")
        method = "stratified"
    method = method or "simple"
    if args.k is not None and method != "stratified":
        raise UserError(f"--k（每县区至少抽取件数）只用于分层抽取，当前方式为 {method}。"
                        "请去掉 --k，或加 --method stratified。")
    if args.weight_by is not None and method != "weighted":
        raise UserError(f"--weight-by（加权依据）只用于加权抽取，当前方式为 {method}。"
                        "请去掉 --weight-by，或加 --method weighted。")
    if args.reason and not args.replaces:
        raise UserError("--reason 只用于重新抽取，请同时用 --replaces 指明被替换的抽查记录。")
    if args.seed is not None:
        raise UserError("不能手工指定随机种子：督查会的抽取使用会前承诺的种子（用 --secret 输入种子口令），"
                        "其他抽取由系统生成随机种子。复核已有的抽取请用 verify-draw。")
    return DrawSpec(n=args.n, method=method, min_per_county=1 if args.k is None else args.k,
                    weight_by=(args.weight_by or "age") if method == "weighted" else None)


def cmd_draw(args) -> int:
    from dashboard.models import spot_check_draws
    from queries.filters import Filters
    from queries.spot_check import (
        CandidateOptions,
        candidate_frame,
        draw_params,
        drawn_cases,
    )

    engine = db.make_engine()
    today = config.today()
    actor = _actor(engine, args)
    actions.require(engine, actor, "draw", action_name="draw")
    try:
        spec = _draw_spec(args)
        with engine.connect() as conn:
            scope = scope_for(conn, args.region) if args.region else actor.scope
        actions.require_region(engine, actor, scope.region_code, action_name="draw")
        filters = Filters(domains=tuple(dict.fromkeys(args.domain)), channels=tuple(dict.fromkeys(args.channel)))
        options = CandidateOptions(colors=tuple(dict.fromkeys(args.color)), sources=tuple(dict.fromkeys(args.source)),
                                   min_days_open=args.min_days, exclude_last=args.exclude_last,
                                   meeting_id=args.meeting, replaces_draw_id=args.replaces)
        with engine.connect() as conn:
            pool = candidate_frame(conn, scope, filters, today, options)
        outcome = actions.draw(
            engine, actor, pool, spec=spec, region_code=scope.region_code, meeting_id=args.meeting,
            secret=args.secret, public_value=args.public_value, replaces_draw_id=args.replaces,
            redraw_reason=args.reason, params=draw_params(scope, filters, options, today),
        )
        draw_id, seed, notes = outcome.draw_id, outcome.seed, outcome.notes
        with engine.connect() as conn:
            meeting_id = conn.execute(
                sa.select(spot_check_draws.c.meeting_id).where(spot_check_draws.c.id == draw_id)).scalar()
    except DrawError as error:
        raise UserError(str(error)) from None
    with engine.connect() as conn:
        frame = drawn_cases(conn, scope, draw_id, today)
    payload = {
        "draw_id": draw_id,
        "seed": seed,
        "method": spec.method,
        "candidate_count": outcome.candidate_count,
        "meeting_id": meeting_id,
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
        "notes": notes,
    }
    if not args.json:
        for note in notes:
            print(f"提示：{note}", file=sys.stderr)
    lines = [f"抽查记录 #{draw_id}，种子 {seed}，候选 {outcome.candidate_count} 件，抽中 {len(frame)} 件："]
    lines += [
        f"{c['position']:>3}. {c['case_no']} {c['county']}{c['township'] or ''} 已 {c['days_open']} 天 包案领导 {c['leader'] or '—'}"
        for c in payload["cases"]
    ]
    _print(payload, args.json, "\n".join(lines))
    return EXIT_OK


def cmd_verify_draw(args) -> int:
    from dashboard.draws import verify_draw

    if args.expect_length is not None and not args.expect_head:
        raise UserError("--expect-length 须与 --expect-head 同用：请同时写出纪要中记下的最新摘要。")
    engine = db.make_engine()
    actor = _actor(engine, args)
    actions.require(engine, actor, "view", action_name="read", target=f"verify-draw #{args.draw_id}")
    try:
        actions.require_draw(engine, actor, args.draw_id, action_name="read")
    except actions.ActionError as error:
        raise UserError(str(error)) from None
    with engine.connect() as conn:
        try:
            result = verify_draw(conn, args.draw_id, expect_head=args.expect_head, expect_length=args.expect_length)
        except DrawError as error:
            raise UserError(str(error)) from None
    payload = {"draw_id": result.draw_id, "ok": result.ok, "checks": result.checks, "chain": result.chain}
    lines = [f"抽查记录 #{result.draw_id}：" + ("核验通过，抽取结果可复现、记录未被改动。" if result.ok else "核验未通过！")]
    lines += [f"  [{'✓' if c['ok'] else '✗'}] {c['detail']}" for c in result.checks]
    lines.append(chain_line(result.draw_id, result.chain))
    _print(payload, args.json, "\n".join(lines))
    return EXIT_OK if result.ok else EXIT_ERROR


def chain_line(draw_id: int, chain: dict) -> str:
    """The record chain's length and head, for the minutes, and how to check them later."""
    head = {"draw": "抽查记录", "outcome": "会后记录", "follow_up": "跟进情况"}.get(chain["head_kind"], "记录")
    return (f"存证链：共 {chain['length']} 条记录（抽查 {chain['draws']}、会后记录 {chain['outcomes']}、"
            f"跟进 {chain['follow_ups']}），本记录为第 {chain['position']} 条；最新一条为{head} "
            f"#{chain['head_record_id']}，摘要 {chain['head_digest']}。请将条数和最新摘要记入会议纪要："
            "摘要链本身无法发现最新记录被删除或整条链被重算；日后用 "
            f"verify-draw {draw_id} --expect-length {chain['length']} --expect-head {chain['head_digest']} 核对。")


def cmd_meeting(args) -> int:
    from queries.meetings import meeting_list

    engine = db.make_engine()
    actor = _actor(engine, args)
    if args.meeting_command == "list":
        scope = _read_scope(engine, actor, None, "meeting list")
        with engine.connect() as conn:
            frame = meeting_list(conn, scope)
        payload = [
            {"meeting_id": int(r.meeting_id), "title": r.title, "scheduled_at": r.scheduled_at.isoformat(sep=" "),
             "seed_commitment": r.seed_commitment, "revealed": r.revealed_at is not None and not pd.isna(r.revealed_at),
             "draws": int(r.n_draws), "public_value_rule": r.public_value_rule or None}
            for r in frame.itertuples()
        ]
        _print(payload, args.json, "\n".join(
            f"#{m['meeting_id']} {m['scheduled_at']} {m['title']} 承诺值 {m['seed_commitment'] or '—'}" for m in payload
        ) or "还没有督查会。")
        return EXIT_OK
    if args.no_commit:
        raise UserError("每个督查会都须在会前承诺随机种子，已不再支持 --no-commit。请去掉该参数：建会时生成的种子口令"
                        "只显示这一次，由组织人保管，抽取时输入。")
    try:
        with engine.connect() as conn:
            region = scope_for(conn, args.region).region_code if args.region else None
        made = actions.create_meeting(
            engine, actor, title=args.title, scheduled_at=args.at, region_code=region,
            public_value_rule=args.public_value_rule)
    except DrawError as error:
        raise UserError(str(error)) from None
    payload = {"meeting_id": made.meeting_id, "title": args.title, "scheduled_at": args.at.isoformat(sep=" "),
               "seed_commitment": made.commitment, "secret": made.secret,
               "public_value_rule": made.public_value_rule}
    _print(payload, args.json, "\n".join([
        f"已建督查会 #{made.meeting_id}：{args.title}（{args.at:%Y-%m-%d %H:%M}）",
        f"种子承诺值（SHA-256，请随会议通知公布）：{made.commitment}",
        f"种子口令（只显示这一次）：{made.secret}",
        "请抄写或打印后由您本人保管，不要存入本系统或通过邮件、聊天工具传送；抽取时须输入："
        f"python -m dashboard draw --meeting {made.meeting_id} --secret 口令 …。系统只保存承诺值，"
        "任何人（包括数据库管理员）都无法从系统查到口令；口令遗失则本会无法抽取，只能另建督查会。",
        *([f"抽取时还须填写会上公布的公开值（--public-value）：{made.public_value_rule}"]
          if made.public_value_rule else []),
    ]))
    return EXIT_OK


def cmd_agenda(args) -> int:
    from dashboard.agenda import agenda_excel, agenda_html, agenda_titles
    from dashboard.draws import chain_status
    from queries.meetings import agenda, meeting_list
    from queries.spot_check import draw_history

    if not args.xlsx and not args.html:
        raise UserError("请用 --xlsx 或 --html 指定导出文件。")
    targets = [Path(p) for p in (args.xlsx, args.html) if p]
    for path in targets:
        if path.is_dir():
            raise UserError(f"{path} 是一个目录，请写出文件名，例如 {path / '议程.xlsx'}。")
        if not path.parent.is_dir():
            raise UserError(f"无法写入 {path}：目录 {path.parent} 不存在，请先建好目录或换一个路径。")
    today = config.today()
    engine = db.make_engine()
    actor = _actor(engine, args)
    actions.require(engine, actor, "export", action_name="export", target=f"议程 #{args.draw_id}")
    with engine.connect() as conn:
        scope = actor.scope
        frame = agenda(conn, scope, args.draw_id, today)
        history = draw_history(conn, scope)
        meetings_frame = meeting_list(conn, scope).set_index("meeting_id", drop=False)
        status = chain_status(conn) if not frame.empty else {}
    if frame.empty:
        raise UserError(f"抽查记录 #{args.draw_id} 不存在、没有抽中案件，或不在您的查看范围内。")
    record = history.set_index("draw_id").loc[args.draw_id]
    meeting_id = record["meeting_id"]
    meeting_info = meetings_frame.loc[int(meeting_id)] if pd.notna(meeting_id) and int(meeting_id) in meetings_frame.index \
        else None
    title, subtitle = agenda_titles(args.draw_id, record["meeting"], record["seed"], len(frame), today,
                                    meeting_info=meeting_info,
                                    chain={**status, "position": _int_or_none(record["chain_seq"])})
    contents = {}
    if args.xlsx:
        contents[Path(args.xlsx)] = agenda_excel(frame, title, subtitle)
    if args.html:
        contents[Path(args.html)] = agenda_html(frame, title, subtitle).encode("utf-8")
    written: list[Path] = []
    try:  # write beside the targets first, then move into place: both files or none
        for path, data in contents.items():
            temporary = path.with_name(f".{path.name}.part")
            temporary.write_bytes(data)
            written.append(temporary)
        for temporary, path in zip(written, contents, strict=True):
            temporary.replace(path)
    except OSError as error:
        for temporary in written:
            temporary.unlink(missing_ok=True)
        raise UserError(f"无法写入 {path}（{error.strerror or error}），请检查路径和写入权限。") from None
    actions.record_view(engine, actor, "export", target=f"议程 #{args.draw_id}",
                        detail="、".join(p.name for p in contents))
    print("已导出：" + "、".join(str(p) for p in contents))
    print(f"存证链：打印时共 {status['length']} 条，最新摘要 {status['head_digest']}"
          + ("" if status["ok"] else "（核验未通过，请立即运行 verify-draw 核查）")
          + "。请记入会议纪要。")
    return EXIT_OK


def _int_or_none(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _iso(value) -> str | None:
    return value.isoformat() if value is not None and not pd.isna(value) else None


def cmd_case(args) -> int:
    from dashboard.privacy import mask_id_no, mask_name, mask_phone
    from queries.cases import case_detail, case_people
    from queries.filters import Filters
    from queries.reminders import reminder_log

    today = config.today()
    engine = db.make_engine()
    actor = _actor(engine, args)
    if args.reason and not args.reveal:
        raise UserError("--reason 只与 --reveal 同用。")
    try:
        actions.view_case(engine, actor, args.case_no)
        revealed = actions.reveal(engine, actor, args.case_no, args.reason or "") if args.reveal else None
    except actions.ActionError as error:
        raise UserError(str(error)) from None
    with engine.connect() as conn:
        scope = actor.scope
        frame = case_detail(conn, scope, args.case_no, today)
        row = frame.iloc[0]
        people = case_people(conn, scope, int(row["case_id"]))
        log = reminder_log(conn, scope, Filters(), case_id=int(row["case_id"]))
    color = row["color"] if isinstance(row["color"], str) else None
    petitioner = revealed or {
        "petitioner_name": mask_name(people.get("petitioner_name")),
        "petitioner_phone": mask_phone(people.get("petitioner_phone")),
        "petitioner_id_no": mask_id_no(people.get("petitioner_id_no")),
    }
    payload = {
        "case_no": row["case_no"],
        "petitioner": {"name": petitioner["petitioner_name"] or None, "phone": petitioner["petitioner_phone"] or None,
                       "id_no": petitioner["petitioner_id_no"] or None, "masked": revealed is None},
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
             "days_left": int(r.days_left), "unit": r.unit_name,
             "stage": r.stage if isinstance(r.stage, str) else None}
            for r in log.itertuples()
        ],
    }
    lines = [
        f"{payload['case_no']} {row['county_name']}{row['township_name'] or ''} · {DOMAINS.get(row['domain'], row['domain'])}",
        f"适用规则：{row['preset_title'] or payload['preset']}",
        f"受理期限 {payload['acceptance_due'] or '—'}；办理期限 {payload['handling_due'] or '—'}"
        + (f"（含延期 {payload['extension_days']} 日）" if payload["extension_days"] else ""),
        "督办颜色：" + (COLORS[color] + "，" + days_left_text(payload["days_left"]) if color else "无（已办结）"),
        "信访人 {name}，电话 {phone}，身份证号 {id_no}".format(**{k: v or "—" for k, v in payload["petitioner"].items()})
        + ("（已脱敏）" if payload["petitioner"]["masked"] else "（完整信息，已留痕）"),
    ]
    if payload["provisional"]:
        lines.append("注意：期限所在年份尚未导入节假日安排，暂按周末推算。")
    lines += [f"催办 {r['date']} {REMINDER_LEVELS[r['level']]}" for r in payload["reminders"]]
    _print(payload, args.json, "\n".join(lines))
    return EXIT_OK


def cmd_extend(args) -> int:
    from dashboard.deadlines import RuleError

    engine = db.make_engine()
    actor = _actor(engine, args)
    try:
        due = actions.extend_deadline(engine, actor, args.case_no, args.days, reason=args.reason,
                                      approver=args.approver, on=config.today())
    except (RuleError, actions.ActionError) as error:
        raise UserError(str(error)) from None
    payload = {"case_no": args.case_no, "handling_due": due.isoformat(), "days": args.days}
    _print(payload, args.json, f"{args.case_no} 已延期 {args.days} 日，新的办理期限 {due:%Y-%m-%d}。")
    return EXIT_OK


def cmd_remind(args) -> int:
    from dashboard.workdays import load_calendar
    from queries.filters import Filters
    from queries.reminders import reminder_queue

    on = args.date or config.today()
    preview = args.preview or on > config.today()  # a future day has not happened: preview only
    engine = db.make_engine()
    actor = _actor(engine, args)
    if not preview:
        actions.require(engine, actor, "remind", action_name="remind", target=f"{on:%Y-%m-%d}")
    scope = _read_scope(engine, actor, None, f"remind {on:%Y-%m-%d}")
    with engine.connect() as conn:
        calendar = load_calendar(conn)
        if not calendar.is_workday(on):  # nothing is sent on rest days
            if args.json:
                print("[]")
            else:
                print(f"{on:%Y-%m-%d} 是休息日，不发催办、不登记；下一个工作日为 {calendar.next_workday(on):%Y-%m-%d}。")
            return EXIT_OK
        queue = reminder_queue(conn, scope, Filters(), on)
    new = 0 if preview else actions.record_reminders(engine, actor, queue, on, config.today())
    payload = [
        {"case_no": r.case_no, "unit": r.unit_name if isinstance(r.unit_name, str) else None, "level": r.level,
         "due": _iso(r.due), "days_left": int(r.days_left), "provisional": bool(r.provisional), "stage": r.stage}
        for r in queue.itertuples()
    ]
    head = (f"{on:%Y-%m-%d} 催办 {len(payload)} 件（预览，未登记）：" if preview
            else f"{on:%Y-%m-%d} 催办 {len(payload)} 件（新登记 {new} 件，其余当日已登记）：")
    lines = [head]
    lines += [f"[{REMINDER_LEVELS[p['level']]}] {p['case_no']} {p['unit'] or '—'} "
              f"{STAGE_DEADLINES[p['stage']]} {p['due']} {days_left_text(p['days_left'])}"
              for p in payload]
    _print(payload, args.json, "\n".join(lines))
    return EXIT_OK


def _preset_line(p) -> str:
    limits = [f"受理 {describe_limit(p.acceptance_days, p.acceptance_unit)}",
              f"办理 {describe_limit(p.handling_days, p.handling_unit)}"]
    limits.append(f"可延期 {p.max_extensions} 次 × {describe_limit(p.extension_max_days, p.extension_unit)}"
                  if p.max_extensions else "不可延期")
    for name, days, unit in (("初步反馈", p.feedback_days, p.feedback_unit),
                             ("见面（初信初访）", p.meeting_days, p.meeting_unit),
                             ("复查、复核各", p.review_days, p.review_unit)):
        if days is not None:
            limits.append(f"{name} {describe_limit(days, unit)}")
    return f"  {p.name:<14} {p.title}：" + "，".join(limits)




def cmd_rules(args) -> int:
    from dashboard.deadlines import RuleError, assignment_history, load_presets

    today = config.today()
    engine = db.make_engine()
    actor = _actor(engine, args)
    if args.rules_command == "assign":
        effective_from = args.effective_from or today
        try:
            changed = actions.assign_rule(engine, actor, args.region, args.preset, args.track,
                                          effective_from=effective_from)
        except RuleError as error:
            raise UserError(str(error)) from None
        with engine.connect() as conn:
            name = conn.execute(sa.select(regions.c.name).where(regions.c.code == args.region)).scalar()
        track = TRACKS.get(args.track, "全部办理程序") if args.track else "全部办理程序"
        with engine.connect() as conn:
            title = load_presets(conn)[args.preset].title
        print(f"已设定：{args.region} {name} {track} 自 {effective_from:%Y-%m-%d} 起登记的案件适用 {title}；"
              f"此前登记的案件和已办结案件保留原期限；重新计算期限 {changed} 件。")
        return EXIT_OK
    if args.rules_command == "edit":
        try:
            changed = actions.edit_preset(engine, actor, args.name, args.limit, days=args.days, unit=args.unit)
        except RuleError as error:
            raise UserError(str(error)) from None
        with engine.connect() as conn:
            preset = load_presets(conn)[args.name]
        days, unit = preset.limit(args.limit)
        print(f"已修改“{preset.title}”的{LIMIT_NAMES[args.limit]}时限为 {describe_limit(days, unit) or '无'}；"
              f"重新计算未办结案件的期限 {changed} 件，已办结案件保留原期限。")
        return EXIT_OK
    _read_scope(engine, actor, None, "rules list")
    with engine.connect() as conn:
        presets = load_presets(conn)
        history = assignment_history(conn, today)
    payload = {
        "presets": [vars(p) for p in presets.values()],
        "assignments": [
            {"region": r.region_code, "region_name": r.region_name, "track": r.track, "preset": r.preset,
             "effective_from": _iso(r.effective_from), "status": r.status}
            for r in history.itertuples()
        ],
        "default": DEFAULT_PRESET,
    }
    lines = ["预设规则："]
    lines += [_preset_line(p) for p in presets.values()]
    def title(name: str) -> str:
        return presets[name].title if name in presets else name

    lines.append(f"适用（按案件登记日期；未设定的县区用全市默认，全市默认未设定时为 {title(DEFAULT_PRESET)}）：")
    lines += [f"  {a['region']} {a['region_name']} {TRACKS.get(a['track'], '全部程序')} "
              f"自 {a['effective_from']} 起 → {title(a['preset'])}（{ASSIGNMENT_STATUS[a['status']]}）"
              for a in payload["assignments"]] or ["  （无单独设定）"]
    _print(payload, args.json, "\n".join(lines))
    return EXIT_OK


def cmd_calendar(args) -> int:
    from dashboard.workdays import CalendarFileError, parse_holiday_csv, schedule_years

    engine = db.make_engine()
    actor = _actor(engine, args)
    if args.calendar_command == "list":
        _read_scope(engine, actor, None, "calendar list")
        with engine.connect() as conn:
            years = schedule_years(conn)
        lines = []
        for y in years:
            text = f"{y['year']} 年：{CALENDAR_SOURCES[y['source']]}"
            if y["source"] == "package" and y["table_rows"]:
                text += f"，另有管理员导入的 {y['table_rows']} 天更正"
            elif y["source"] == "table":
                text += f"（{y['table_rows']} 天）"
            lines.append(text)
            lines += [f"    注意：{w}" for w in y["warnings"]]
        print("\n".join(lines))
        return EXIT_OK
    actions.require(engine, actor, "calendar", action_name="calendar", target=args.file)
    path = Path(args.file)
    if not path.is_file():
        raise UserError(f"找不到文件 {path}，请检查路径。")
    try:
        rows = parse_holiday_csv(path.read_bytes(), path.name)
    except CalendarFileError as error:
        raise UserError(str(error)) from None
    plans, changed = actions.import_calendar(engine, actor, rows)
    lines = ["已导入："] + [f"  {plan.describe()}" for plan in plans]
    lines.append(f"重新计算期限 {changed} 件（未办结案件，及期限为“暂定”的已办结案件）。")
    print("\n".join(lines))
    warnings = [w for plan in plans for w in plan.warnings]
    for warning in warnings:
        print(f"注意：{warning}", file=sys.stderr)
    return EXIT_OK


def _fatal(args, message: str) -> UserError:
    """Bad input of import / regions import: with --json also a JSON object on stdout."""
    if getattr(args, "json", False):
        print(json.dumps({"error": message, "exit_code": EXIT_USAGE}, ensure_ascii=False))
    return UserError(message)


def cmd_import(args) -> int:
    from dashboard.ledger import (
        LedgerError,
        load_mapping,
        load_values,
        read_table,
        rejected_csv,
        too_big,
    )

    engine = db.make_engine()
    actor = _actor(engine, args)
    actions.require(engine, actor, "import", action_name="import", target=args.file)
    path = Path(args.file)
    if not path.is_file():
        raise _fatal(args, f"找不到文件 {path}，请检查路径。")
    try:
        mapping = load_mapping(args.mapping) if args.mapping else None
        values = load_values(args.mapping) if args.mapping else None
        size, limit = path.stat().st_size, config.import_max_bytes()
        if size > limit:  # refused before the file is read into memory
            raise too_big(path.name, size, limit)
        rows = read_table(path.read_bytes(), path.name, args.encoding)
        result = actions.import_ledger(engine, actor, rows, file_name=path.name, mapping=mapping, values=values,
                                       dry_run=args.dry_run, progress=None if args.json else
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
    if result.warnings:
        lines.append(f"提示（行已导入）：{len(result.warnings)} 处")
        lines += [f"  第 {w.row} 行 [{w.column}] {w.value!r}：{w.reason}" for w in result.warnings[:50]]
    if result.rejected:
        lines.append(f"被拒行已写入 {payload['rejected_file']}，修改后可再次导入。")
    _print(payload, args.json, "\n".join(lines))
    return EXIT_ERROR if result.rejected else EXIT_OK


def cmd_regions(args) -> int:
    from dashboard.ledger import LedgerError

    engine = db.make_engine()
    actor = _actor(engine, args)
    actions.require(engine, actor, "import", action_name="import_regions", target=args.file)
    path = Path(args.file)
    if not path.is_file():
        raise _fatal(args, f"找不到文件 {path}，请检查路径。")
    try:
        summary, text = actions.import_regions(engine, actor, path.read_bytes(), path.name)
    except LedgerError as error:
        raise _fatal(args, str(error)) from None
    except OSError as error:
        raise _fatal(args, f"无法读取 {path.name}：{error.strerror or error}。") from None
    _print({"file": str(path), **summary}, args.json, text)
    return EXIT_OK


def _new_password(args, name: str) -> tuple[str, bool]:
    """(password, generated): from standard input (--password-stdin), typed twice at a
    terminal, or generated (and printed once)."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UserError("标准输入中没有密码：请输入一行密码，或去掉 --password-stdin 自动生成。")
        return password, False
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass(f"为 {name} 设置密码（直接回车则自动生成）：")
        if first:
            if getpass.getpass("再输入一次：") != first:
                raise UserError("两次输入的密码不一致，未做修改。")
            return first, False
    return auth.generate_password(), True


def cmd_user(args) -> int:
    engine = db.make_engine()
    actor = _actor(engine, args)
    if args.user_command == "list":
        actions.require(engine, actor, "users", action_name="read", target="user list")
        actions.record_view(engine, actor, "read", target="user list")
        with engine.connect() as conn:
            rows = auth.list_users(conn)
        payload = [{"name": r["name"], "display_name": r["display_name"], "role": r["role"],
                    "region": r["region_code"], "region_name": r["region_name"], "disabled": bool(r["disabled"]),
                    "must_change_password": bool(r["must_change_password"]),
                    "locked_until": _iso(r["locked_until"]), "last_signin_at": _iso(r["last_signin_at"])}
                   for r in rows]
        _print(payload, args.json, "\n".join(
            f"{p['name']:<20} {ROLES[p['role']]:<4} {p['region_name'] or '—'}"
            + ("（已停用）" if p["disabled"] else "") + ("（待改密码）" if p["must_change_password"] else "")
            for p in payload) or "还没有用户。")
        return EXIT_OK
    try:
        if args.user_command == "add":
            actions.require(engine, actor, "users", action_name="user_add", target=args.name)
            password, generated = _new_password(args, args.name)
            actions.add_user(engine, actor, args.name, args.role, args.region, password, must_change=generated,
                             display_name=args.display_name)
            payload = {"name": args.name, "role": args.role, "region": args.region,
                       "password": password if generated else None, "must_change_password": generated}
            text = f"已新建用户 {args.name}（{ROLES[args.role]}）。"
            if generated:
                text += f"\n初始密码：{password}（只显示这一次；首次登录须修改）"
            _print(payload, args.json, text)
        elif args.user_command in ("disable", "enable"):
            actions.set_user_disabled(engine, actor, args.name, args.user_command == "disable")
            print(f"已{'停用' if args.user_command == 'disable' else '启用'}用户 {args.name}。")
        else:
            actions.require(engine, actor, "users", action_name="user_reset", target=args.name)
            password, generated = _new_password(args, args.name)
            actions.reset_password(engine, actor, args.name, password)
            print(f"已重置 {args.name} 的密码" + (f"：{password}（只显示这一次）" if generated else "")
                  + "；该用户下次登录须修改密码。")
    except (auth.AuthError, actions.ActionError) as error:
        raise UserError(str(error)) from None
    return EXIT_OK


def cmd_audit(args) -> int:
    engine = db.make_engine()
    actor = _actor(engine, args)
    actions.require(engine, actor, "audit", action_name="read", target="audit list")
    actions.record_view(engine, actor, "read", target="audit list")
    with engine.connect() as conn:
        frame = audit.listing(conn, date_from=args.date_from, date_to=args.date_to, user=args.of_user,
                              actions=tuple(args.action), limit=args.limit)
    payload = [
        {"at": r.at.isoformat(sep=" "), "user": r.user, "role": r.role, "action": r.action, "target": r.target,
         "scope": r.scope, "outcome": r.outcome, "detail": r.detail, "channel": r.channel}
        for r in frame.itertuples()
    ]
    _print(payload, args.json, "\n".join(
        f"{p['at']} {p['user'] or '—'} {audit.ACTIONS.get(p['action'], p['action'])} {p['target'] or ''} "
        f"[{audit.OUTCOMES.get(p['outcome'], p['outcome'])}]" for p in payload) or "没有审计记录。")
    return EXIT_OK


def cmd_verify_audit(args) -> int:
    engine = db.make_engine()
    actor = _actor(engine, args)
    actions.require(engine, actor, "audit", action_name="read", target="verify-audit")
    with engine.connect() as conn:
        check = audit.verify(conn)
    actions.record_view(engine, actor, "read", target="verify-audit", detail="通过" if check.ok else "未通过")
    payload = {"ok": check.ok, "length": check.length, "head_digest": check.head_digest,
               "first_broken_id": check.first_broken_id}
    _print(payload, args.json, ("核验通过：" if check.ok else "核验未通过！") + check.detail)
    return EXIT_OK if check.ok else EXIT_ERROR


def cmd_bench(args) -> int:
    from entrypoints import bench

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    results = []
    try:
        for cases in args.cases:
            results.append(bench.run(cases, args.repeat, args.database_url if len(args.cases) == 1 else None,
                                     pages=not args.no_pages, import_rows=max(args.import_rows, 0),
                                     progress=say, reuse=args.reuse))
    except ValueError as error:
        raise UserError(str(error)) from None
    growth = bench.compare(results) if len(results) > 1 else []
    _print({"results": results, "growth": growth}, args.json, bench.report(results, growth))
    return EXIT_OK


def cmd_refresh(args) -> int:
    """Rebuild the summary tables from the cases and recompute the colors for today
    (days left change every day: run it daily after midnight; init and app start too)."""
    import time

    from dashboard import migrate, summaries
    from dashboard.setup import upgrade_database

    engine = db.make_engine()
    if not db.has_schema(engine):
        raise UserError("数据库尚未建立：请先运行 `python -m dashboard init`（加 --sample 载入示例城市）。")
    if migrate.current(engine) != migrate.head():
        upgrade_database(engine)  # an older database: upgraded in place first
    started = time.perf_counter()
    with engine.begin() as conn:
        result = summaries.rebuild(conn)
    result["seconds"] = round(time.perf_counter() - started, 2)
    audit.record(engine, None, "refresh", user_name=None, detail=f"汇总 {result['summary_rows']} 行")
    _print(result, args.json, f"汇总表已重建：{result['summary_rows']:,} 行；三色状态 {result['colored_cases']:,} 件"
                              f"（截至 {result['colors_as_of']}），用时 {result['seconds']} 秒。")
    return EXIT_OK


def cmd_loadtest(args) -> int:
    from entrypoints import loadtest

    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    unknown = [p for p in pages if p not in loadtest.PAGES]
    if not pages or unknown:
        raise UserError(f"--pages 中有不支持的页面：{'、'.join(unknown) or '（空）'}。"
                        f"可用：{','.join(loadtest.PAGES)}")
    if args.url and not args.url.startswith(("http://", "https://")):
        raise UserError(f"--url 应以 http:// 或 https:// 开头（收到 {args.url!r}），如 http://127.0.0.1:8501")
    if args.url and args.processes > 1:
        raise UserError("--processes 只用于临时启动的服务；测已运行的服务（--url）时请去掉 --processes，"
                        "或对每个进程分别运行一次")
    try:
        result = loadtest.run(args.sessions, args.url, pages, server_pid=args.server_pid, timeout=args.timeout,
                              total_timeout=args.total_timeout, warmup=max(args.warmup, 0),
                              processes=args.processes, progress=lambda message: print(message, file=sys.stderr, flush=True))
    except RuntimeError as error:
        raise UserError(str(error)) from None
    _print(result, args.json, loadtest.report(result))
    return EXIT_OK if result["ok"] else EXIT_ERROR


COMMANDS = {
    "import": cmd_import, "regions": cmd_regions,
    "init": cmd_init, "kpi": cmd_kpi, "draw": cmd_draw, "verify-draw": cmd_verify_draw,
    "meeting": cmd_meeting, "agenda": cmd_agenda, "case": cmd_case, "extend": cmd_extend,
    "remind": cmd_remind, "rules": cmd_rules, "calendar": cmd_calendar, "bench": cmd_bench,
    "user": cmd_user, "audit": cmd_audit, "verify-audit": cmd_verify_audit,
    "refresh": cmd_refresh,
}
COMMANDS["loadtest"] = cmd_loadtest


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe shows up here rather than at exit
        return code
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly. Point stdout at devnull so
        # that flushing at exit does not raise again.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is not a file (captured)
            pass
        return EXIT_ERROR
    except Refused as error:
        print(f"拒绝：{error}", file=sys.stderr)
        if getattr(args, "json", False):
            print(json.dumps({"error": str(error), "exit_code": EXIT_REFUSED}, ensure_ascii=False))
        return EXIT_REFUSED
    except (UserError, UnknownRegion, actions.ActionError, auth.AuthError) as error:
        print(f"错误：{error}", file=sys.stderr)
        return EXIT_USAGE
    except (OperationalError, ProgrammingError) as error:
        if db.is_busy(error):
            print(f"错误：{db.BUSY_MESSAGE}", file=sys.stderr)
            return EXIT_ERROR
        try:
            missing = db.missing_columns(db.make_engine())
        except Exception:  # the database itself cannot be opened
            missing = []
        if missing:
            print(f"错误：数据库结构是旧版本（缺少 {missing[0]} 等 {len(missing)} 个字段）。"
                  "请运行 `python -m dashboard init` 就地升级（数据保留）。", file=sys.stderr)
            return EXIT_ERROR
        print(
            "错误：无法读取数据库（" + type(error.orig).__name__ + "）。"
            "请先运行 `python -m dashboard init --sample`，或检查 DATABASE_URL。",
            file=sys.stderr,
        )
        return EXIT_ERROR


# ------------------------------------------------------------------ early warnings, forecast, bulletin (issue 16)


def _add_warning_parsers(sub, common) -> None:
    warn = sub.add_parser("warn", help="信访预警（一单三推）：发布并列出某日的预警")
    warn.add_argument("--date", type=_date, help="日期，默认今天；有发布权限（信访局）时发布当日预警，否则只列出")
    warn.add_argument("--json", action="store_true")

    sensitive = sub.add_parser("sensitive", help="敏感时期：录入和列出（期间预警阈值降低）")
    sensitive_sub = _with_user(sensitive.add_subparsers(dest="sensitive_command", required=True,
                                                        parser_class=_Parser), common)
    add = sensitive_sub.add_parser("add", help="录入一个敏感时期")
    add.add_argument("--name", required=True, help="名称，如 全国两会期间")
    add.add_argument("--from", dest="starts_on", required=True, type=_date, help="开始日期（含）")
    add.add_argument("--to", dest="ends_on", required=True, type=_date, help="结束日期（含）")
    add.add_argument("--json", action="store_true")
    listing = sensitive_sub.add_parser("list", help="列出敏感时期")
    listing.add_argument("--json", action="store_true")

    forecast = sub.add_parser("forecast", help="积案清零预测：各县区按当前进度的清零日期与目标")
    forecast.add_argument("--region", help="区划代码，默认全市")
    forecast.add_argument("--json", action="store_true")

    bulletin = sub.add_parser("bulletin", help="月度通报（Word 文档）")
    bulletin.add_argument("--month", required=True, help="月份，如 2026-11")
    bulletin.add_argument("--out", required=True, help="输出文件路径，如 通报.docx")
    bulletin.add_argument("--region", help="区划代码，默认全市")
    bulletin.add_argument("--json", action="store_true")


def _warning_payload(frame) -> list[dict]:
    out = []
    for row in frame.to_dict("records"):
        out.append({
            "id": None if row.get("id") is None or pd.isna(row.get("id")) else int(row["id"]),
            "date": str(row["raised_on"]), "region": row["region"], "region_name": row["region_name"],
            "county": row["county"], "county_name": row["county_name"], "domain": row["domain"],
            "domain_name": row["domain_name"], "window_days": int(row["window_days"]),
            "observed": int(row["observed"]), "baseline": int(row["baseline"]),
            "expected": round(float(row["expected"]), 3), "p_value": float(row["p_value"]),
            "level": float(row["level"]), "sensitive": bool(row["sensitive"]), "status": row["status"],
        })
    return out


def _preview_warnings(conn, scope, day):
    """The warnings the rule flags on `day` in the scope, when none are stored yet."""
    from dashboard import early_warning
    from dashboard.labels import WARNING_DOMAINS, WARNING_STATUS
    from queries.regions import townships

    found = early_warning.flagged(conn, day)
    towns = townships(conn, scope).set_index("code")
    found = found[found["region"].isin(towns.index)].copy()
    county_names = dict(conn.execute(sa.select(regions.c.code, regions.c.name)).all())
    found["id"] = None
    found["raised_on"] = day
    found["region_name"] = found["region"].map(towns["name"])
    found["county"] = found["county_code"]
    found["county_name"] = found["county"].map(county_names)
    found["domain_name"] = found["domain"].map(WARNING_DOMAINS)
    found["status"] = "preview"
    found["status_name"] = WARNING_STATUS["preview"]
    return found.sort_values(["p_value", "region"]).reset_index(drop=True)


def cmd_warn(args) -> int:
    from dashboard import early_warning
    from dashboard.labels import WARNING_STATUS
    from dashboard.permissions import allowed
    from queries.filters import Filters
    from queries.warnings import day_warnings

    engine = db.make_engine()
    today = config.today()
    day = args.date or today
    if day > today:
        raise UserError(f"{day} 还没到，预警只能针对今天或以前的日期（今天是 {today}）。")
    actor = _actor(engine, args)
    raised = None
    if allowed(actor, "warn"):
        raised = actions.raise_warnings(engine, actor, day, today)
        scope = actor.scope
    else:
        scope = _read_scope(engine, actor, None, f"warn {day}")
    with engine.connect() as conn:
        frame = day_warnings(conn, scope, Filters(), day)
        if frame.empty and raised is None:
            frame = _preview_warnings(conn, scope, day)
        periods = early_warning.sensitive_on(conn, day)
    warnings = _warning_payload(frame)
    payload = {"date": day.isoformat(), "region": scope.region_code, "region_name": scope.name,
               "sensitive_periods": periods, "raised_now": raised[0] if raised else 0, "warnings": warnings}
    lines = [f"{scope.name} {day} 信访预警 {len(warnings)} 条" + (f"（敏感时期：{'、'.join(periods)}，阈值降低）" if periods else "")
             + (f"；本次新发布 {raised[0]} 条" if raised else "")]
    lines += [f"  {w['county_name']}{w['region_name']}（{w['region']}） {w['domain_name']} 近 {w['window_days']} 日 "
              f"{w['observed']} 件，预期 {w['expected']:.1f} 件，p = {w['p_value']:.1e} [{WARNING_STATUS[w['status']]}]"
              for w in warnings]
    if not warnings:
        lines.append("  无预警：各乡镇各领域近 7 日、30 日的信访量均未显著高于基线。")
    _print(payload, args.json, "\n".join(lines))
    return EXIT_OK


def cmd_sensitive(args) -> int:
    from queries.filters import Filters
    from queries.warnings import sensitive_period_list

    engine = db.make_engine()
    actor = _actor(engine, args)
    if args.sensitive_command == "add":
        period_id = actions.add_sensitive_period(engine, actor, args.name, args.starts_on, args.ends_on)
        _print({"id": period_id, "name": args.name.strip(), "starts_on": args.starts_on.isoformat(),
                "ends_on": args.ends_on.isoformat()}, args.json,
               f"已录入敏感时期 #{period_id}：{args.name.strip()}，{args.starts_on} 至 {args.ends_on}；期间预警阈值降低。")
        return EXIT_OK
    if actor.scope is None:  # the administrator: periods are no case data
        actions.require(engine, actor, "sensitive", action_name="read", target="sensitive list")
        actions.record_view(engine, actor, "read", target="sensitive list")
        scope = None
    else:
        scope = _read_scope(engine, actor, None, "sensitive list")
    with engine.connect() as conn:
        frame = sensitive_period_list(conn, scope, Filters(), config.today())
    payload = [{"id": int(r.id), "name": r.name, "starts_on": _iso(r.starts_on), "ends_on": _iso(r.ends_on),
                "created_by": r.created_by, "current": bool(r.current)} for r in frame.itertuples()]
    _print(payload, args.json, "\n".join(
        f"#{p['id']} {p['name']} {p['starts_on']} 至 {p['ends_on']}" + ("（进行中）" if p["current"] else "")
        for p in payload) or "还没有录入敏感时期。")
    return EXIT_OK


def cmd_forecast(args) -> int:
    from queries.filters import Filters
    from queries.forecast import clearance_forecast

    engine = db.make_engine()
    actor = _actor(engine, args)
    today = config.today()
    scope = _read_scope(engine, actor, args.region, "forecast")
    with engine.connect() as conn:
        frame = clearance_forecast(conn, scope, Filters(), today)

    def row_payload(r) -> dict:
        return {"region": r["region"], "region_name": r["region_name"], "unresolved": int(r["unresolved"]),
                "weekly_pace": round(float(r["weekly_pace"]), 2), "pace_se": round(float(r["pace_se"]), 2),
                "projected_zero_date": _iso(r["projected_zero_date"]), "low": _iso(r["low"]),
                "high": _iso(r["high"]), "target_date": _iso(r["target_date"]), "target_set": bool(r["target_set"]),
                "on_track": None if r["on_track"] is None else bool(r["on_track"])}

    rows = [row_payload(r) for r in frame.to_dict("records")]
    payload = {"as_of": today.isoformat(), "weeks": 12,
               "method": "近 12 周每周末未化解积案的最小二乘直线，斜率取负为每周净化解量；清零日期 = 现有积案 ÷ 每周净化解量；"
                         "区间为净化解量 ± 1.96 倍标准误",
               "region": rows[0], "counties": rows[1:] if scope.level == "city" else rows}

    def line(r: dict) -> str:
        when = r["projected_zero_date"] or "按当前进度无法清零"
        band = f"（{r['low'] or '—'} ~ {r['high'] or '不确定'}）" if r["projected_zero_date"] else ""
        state = "可按期清零" if r["on_track"] else "将超期"
        return (f"  {r['region_name']}（{r['region']}） 未化解 {r['unresolved']} 件，每周净化解 {r['weekly_pace']:.1f} 件，"
                f"预计 {when}{band}，目标 {r['target_date']}{'' if r['target_set'] else '（默认年底）'}：{state}")

    lines = [f"积案清零预测（截至 {today}）", line(rows[0])]
    if scope.level == "city":
        lines.append("各县区（将超期的在前）：")
        lines += [line(r) for r in rows[1:]]
    _print(payload, args.json, "\n".join(lines))
    return EXIT_OK


def cmd_bulletin(args) -> int:
    from entrypoints.bulletin import BulletinError, bulletin_data, bulletin_docx, parse_month

    engine = db.make_engine()
    actor = _actor(engine, args)
    today = config.today()
    try:
        start, end = parse_month(args.month, today)
    except BulletinError as error:
        raise UserError(str(error)) from None
    out = Path(args.out)
    if not out.parent.exists():
        raise UserError(f"输出目录 {out.parent} 不存在，请先建立目录或换一个路径。")
    scope = _read_scope(engine, actor, args.region, f"bulletin {args.month}")
    actions.export(engine, actor, out.name, detail=f"月度通报 {args.month}，区划 {scope.region_code}")
    with engine.connect() as conn:
        data = bulletin_data(conn, scope, start, end)
    content = bulletin_docx(data, issued_on=today)
    try:
        out.write_bytes(content)
    except OSError as error:
        raise UserError(f"无法写入 {out}：{error.strerror or error}。") from None
    figures = {k: v for k, v in data["figures"].items() if k != "colors"}
    _print({"file": str(out), "month": args.month, "period_from": start.isoformat(), "period_to": end.isoformat(),
            "region": scope.region_code, "bytes": len(content), "figures": figures}, args.json,
           f"已生成 {scope.name} {args.month} 月度通报：{out}（{len(content) // 1024} KB）")
    return EXIT_OK


COMMANDS.update({"warn": cmd_warn, "sensitive": cmd_sensitive, "forecast": cmd_forecast, "bulletin": cmd_bulletin})
