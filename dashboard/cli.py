"""Command line: `python -m dashboard ...` for set-up, indicators and draws.

`--json` outputs are a contract: keys stay stable once published.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from sqlalchemy.exc import OperationalError, ProgrammingError

from dashboard import config, db
from dashboard.draws import DrawError, record_draw
from dashboard.labels import COLORS
from dashboard.setup import DatabaseNotEmpty, initialise

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class UserError(Exception):
    """Bad input: the message says what is wrong and what to do, in Chinese."""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期格式不对：{text!r}，请用 YYYY-MM-DD，例如 2026-03-05。") from None


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
    draw.add_argument("--seed", help="随机种子；不填则自动生成")
    draw.add_argument("--per-county", action="store_true", help="每个县区至少抽一件")
    draw.add_argument("--region", help="区划代码，默认全市")
    draw.add_argument("--by", default="命令行", help="抽取人")
    draw.add_argument("--meeting", help="会议名称")
    draw.add_argument("--json", action="store_true")
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
    from queries.filters import Filters, scope_for
    from queries.spot_check import draw_candidates, drawn_cases

    engine = db.make_engine()
    today = config.today()
    with engine.begin() as conn:
        scope = scope_for(conn, args.region)
        candidates = draw_candidates(conn, scope, Filters(), today)
        try:
            draw_id, seed, _ = record_draw(
                conn, candidates, args.n, seed=args.seed, per_county=args.per_county,
                created_by=args.by, scope_code=scope.region_code, meeting=args.meeting,
                params={"region": scope.region_code, "per_county": args.per_county, "as_of": today.isoformat()},
            )
        except DrawError as error:
            raise UserError(str(error)) from None
    with engine.connect() as conn:
        frame = drawn_cases(conn, scope, draw_id, today)
    payload = {
        "draw_id": draw_id,
        "seed": seed,
        "method": "per_county" if args.per_county else "simple",
        "candidate_count": len(candidates),
        "cases": [
            {
                "position": int(row.position),
                "case_no": row.case_no,
                "county": row.county_name,
                "township": row.township_name,
                "domain": row.domain,
                "days_open": int(row.days_open),
                "color": row.color,
                "leader": row.leader_name,
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


COMMANDS = {"init": cmd_init, "kpi": cmd_kpi, "draw": cmd_draw}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from queries.filters import UnknownRegion

    try:
        return COMMANDS[args.command](args)
    except (UserError, UnknownRegion) as error:
        print(f"错误：{error}", file=sys.stderr)
        return EXIT_USAGE
    except (OperationalError, ProgrammingError) as error:
        print(
            "错误：无法读取数据库（" + type(error.orig).__name__ + "）。"
            "请先运行 `python -m dashboard init --sample`，或检查 DATABASE_URL。",
            file=sys.stderr,
        )
        return EXIT_ERROR
