"""Load test (`python -m dashboard loadtest`): many people opening the same pages at once.

Each session speaks Streamlit's own browser protocol (the websocket at /_stcore/stream,
protobuf BackMsg/ForwardMsg, as the browser's frontend does): it opens the app, signs in
as a demo user through the sign-in form, then opens each page in turn (overview, heatmap,
supervision, a case) the way the sidebar menu does, and waits for the server to finish
the page's script. A view's time is from the request to the server's "script finished";
it covers everything the server does for the view (queries, charts, serialising the
page) but not the browser's drawing, which happens on each viewer's own computer.

The server is started for the run (`streamlit run streamlit_app.py` on 127.0.0.1 with the
environment's DATABASE_URL) unless `--url` names a running one. Its CPU time is read from
/proc/<pid>/stat before and after the measured views (with `--url`, give `--server-pid`).

A view fails when it times out, the connection breaks, the page shows an exception or an
error message, or the page is not found; the command then exits 1. Bounded: every view
has a timeout and the whole run a time cap.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("overview", "heatmap", "supervision", "case")
HOME = "overview"  # streamlit_app.py's default page for a user who may view cases
DEMO_USER = "demo-city"
DEMO_PASSWORD = "yunxi-demo"  # the sample city's demo accounts (README)


@dataclass
class View:
    session: int
    page: str
    seconds: float
    ok: bool
    error: str = ""


@dataclass
class _Run:
    """What one script run sent: its elements and the navigation it announced."""
    elements: list = field(default_factory=list)
    pages: dict = field(default_factory=dict)  # url_pathname -> page_script_hash
    error: str = ""


class StreamlitSession:
    """One browser tab, speaking the websocket protocol of Streamlit's frontend."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.ws_url = base_url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + "/_stcore/stream"
        self.timeout = timeout
        self.pages: dict[str, str] = {}
        self.default: set[str] = {""}
        self.socket = None

    async def __aenter__(self):
        import websockets

        self.socket = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None,
                                               open_timeout=self.timeout, ping_interval=None)
        return self

    async def __aexit__(self, *exc) -> None:
        if self.socket is not None:
            await self.socket.close()

    async def run(self, page: str = "", query: str = "", widgets=()) -> _Run:
        """Ask for a script run of `page` (url path; "" the default page) and wait until
        the server reports it finished (runs cut short by `st.rerun` are followed)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = BackMsg()
        state = message.rerun_script
        state.query_string = query
        state.page_script_hash = self.pages.get(page, "")
        state.page_name = "" if state.page_script_hash in self.default else page
        for widget in widgets:
            state.widget_states.widgets.append(widget)
        await self.socket.send(message.SerializeToString())
        run = _Run()
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.timeout:.0f} 秒内页面未完成")
            data = await asyncio.wait_for(self.socket.recv(), left)
            if isinstance(data, str):
                continue
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                run.elements.append(element)
                what = element.WhichOneof("type")
                if what == "exception" and not run.error:
                    run.error = f"异常：{element.exception.type}"
                elif what == "alert" and element.alert.format == element.alert.ERROR and not run.error:
                    run.error = "错误提示：" + element.alert.body[:80]
            elif kind == "navigation":
                # the default page's url path is "" (the app's root); the home page's name finds it
                run.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
                self.pages.update(run.pages)
                self.default = {p.page_script_hash for p in msg.navigation.app_pages if p.is_default}
                for p in msg.navigation.app_pages:
                    if p.is_default and p.url_pathname == "":
                        self.pages[HOME] = p.page_script_hash
            elif kind == "page_not_found":
                run.error = f"页面不存在：{page}"
            elif kind == "session_event" and msg.session_event.WhichOneof("type") == "script_compilation_exception":
                run.error = "脚本编译错误"
            elif kind == "script_finished":
                if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    run.elements = []  # the run that follows draws the page again
                    continue
                if msg.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                    run.error = run.error or f"脚本未正常结束（{msg.script_finished}）"
                return run

    @staticmethod
    def widget_id(run: _Run, key: str) -> str:
        for element in run.elements:
            what = element.WhichOneof("type")
            if what is None:
                continue
            widget_id = getattr(getattr(element, what), "id", "")
            if isinstance(widget_id, str) and widget_id.endswith("-" + key):
                return widget_id
        raise LookupError(f"页面上没有 {key}")

    async def sign_in(self, user: str, password: str) -> _Run:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        first = await self.run()
        if first.error:
            return first
        widgets = [WidgetState(id=self.widget_id(first, "signin_user"), string_value=user),
                   WidgetState(id=self.widget_id(first, "signin_password"), string_value=password),
                   WidgetState(id=self.widget_id(first, "signin_submit"), trigger_value=True)]
        signed = await self.run(widgets=widgets)
        if not signed.error and any(e.WhichOneof("type") == "text_input" and e.text_input.id.endswith("-signin_user")
                                    for e in signed.elements):
            signed.error = "登录未成功（仍显示登录表单）"
        return signed


async def _session(index: int, base_url: str, pages, cases: list[str], timeout: float,
                   user: str, password: str) -> list[View]:
    views: list[View] = []

    async def timed(page: str, call) -> _Run | None:
        started = time.perf_counter()
        try:
            run = await call
        except Exception as error:  # timeout, broken connection, form not found
            views.append(View(index, page, time.perf_counter() - started, False, _describe(error)))
            return None
        views.append(View(index, page, time.perf_counter() - started, not run.error, run.error))
        return run

    try:
        async with StreamlitSession(base_url, timeout) as tab:
            if await timed("signin", tab.sign_in(user, password)) is None or not views[-1].ok:
                return views
            for page in pages:
                query = f"case={cases[index % len(cases)]}" if page == "case" and cases else ""
                await timed(page, tab.run(page, query))
    except Exception as error:  # could not connect
        views.append(View(index, "connect", 0.0, False, _describe(error)))
    return views


def _describe(error: BaseException) -> str:
    text = str(error) or ("超过每次打开的时限" if isinstance(error, TimeoutError) else type(error).__name__)
    return f"{type(error).__name__}: {text[:120]}"


def _cpu_seconds(pid: int | None) -> float | None:
    if not pid:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int | None) -> float | None:
    """The process's peak resident memory so far (VmHWM in /proc/<pid>/status), in MB."""
    if not pid:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int | None = None, wait: float = 60.0) -> tuple[subprocess.Popen, str]:
    """`streamlit run streamlit_app.py` on 127.0.0.1 (DATABASE_URL from the environment)."""
    port = port or _free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
               "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
               "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    server.base_url = base
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("Streamlit 服务未能启动：" + server.stderr.read().decode(errors="replace")[-300:])
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return server, base
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError(f"Streamlit 服务 {wait:.0f} 秒内未就绪")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def sample_cases(count: int) -> list[str]:
    """Case numbers for the case page, spread over the database (DATABASE_URL)."""
    import sqlalchemy as sa

    from dashboard import db
    from dashboard.models import cases

    engine = db.make_engine()
    with engine.connect() as conn:
        top = conn.execute(sa.select(sa.func.max(cases.c.id))).scalar() or 0
        ids = sorted({1 + (top * (2 * i + 1)) // (2 * max(count, 1)) for i in range(count)}) if top else []
        numbers = conn.execute(sa.select(cases.c.case_no).where(cases.c.id.in_(ids)).order_by(cases.c.id)).scalars().all()
    engine.dispose()
    return list(numbers)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def run(sessions: int = 30, url: str | None = None, pages=PAGES, *, server_pid: int | None = None,
        timeout: float = 60.0, total_timeout: float = 900.0, warmup: int = 1, cases: list[str] | None = None,
        user: str = DEMO_USER, password: str = DEMO_PASSWORD, progress=None, processes: int = 1) -> dict:
    """Run the load test; returns the report (see `report`).

    `processes`: without `url`, start this many servers and send session i to server
    i mod N for all its views, as a reverse proxy with sticky sessions does (README,
    规模与部署); the server CPU is summed over them."""
    say = progress or (lambda _message: None)
    pages = tuple(pages)
    servers: list[subprocess.Popen] = []
    if url is None:
        say(f"启动 {processes} 个 Streamlit 服务进程…")
        try:
            for _ in range(max(processes, 1)):
                servers.append(start_server()[0])
        except RuntimeError:
            for server in servers:
                stop_server(server)
            raise
        urls = [server.base_url for server in servers]
        pids = [server.pid for server in servers]
    else:
        urls, pids = [url], [server_pid] if server_pid else []
    try:
        if cases is None and "case" in pages:
            cases = sample_cases(max(sessions, 1))

        async def everything() -> tuple[list[View], list[View], float, float | None, float | None]:
            warm: list[View] = []
            for i in range(warmup):  # caches of every process warmed by one viewer first (not counted)
                for base in urls:
                    warm += await _session(-1 - i, base, pages, cases or [], timeout, user, password)
            cpu_before = _cpu_total(pids)
            started = time.perf_counter()
            results = await asyncio.gather(*[
                _session(i, urls[i % len(urls)], pages, cases or [], timeout, user, password)
                for i in range(sessions)
            ])
            wall = time.perf_counter() - started
            cpu_after = _cpu_total(pids)
            peaks = [_peak_rss_mb(pid) for pid in pids]
            rss.append(None if not peaks or None in peaks else max(peaks))
            return warm, [v for views in results for v in views], wall, cpu_before, cpu_after

        rss: list[float | None] = []  # the largest server's peak memory, read at the end
        say(f"{sessions} 个会话同时打开 {'、'.join(pages)}…")
        label = ", ".join(urls)
        try:
            warm, views, wall, cpu_before, cpu_after = _run_async(lambda: asyncio.wait_for(everything(), total_timeout))
        except TimeoutError:
            return _report(sessions, label, pages, [], [], total_timeout, None, None,
                           capped=f"总时长超过 {total_timeout:.0f} 秒，已中止", processes=len(urls))
        return _report(sessions, label, pages, warm, views, wall, cpu_before, cpu_after, processes=len(urls),
                       peak_rss_mb=rss[0] if rss else None)
    finally:
        for server in servers:
            stop_server(server)


def _cpu_total(pids: list[int]) -> float | None:
    readings = [_cpu_seconds(pid) for pid in pids]
    return None if not readings or None in readings else sum(readings)


def _report(sessions, url, pages, warm, views, wall, cpu_before, cpu_after, capped: str = "",
            processes: int = 1, peak_rss_mb: float | None = None) -> dict:
    per_page = []
    for page in ("signin", *pages):
        times = [v.seconds for v in views if v.page == page and v.ok]
        per_page.append({
            "page": page, "views": sum(1 for v in views if v.page == page), "ok": len(times),
            "p50_s": round(_percentile(times, 0.5), 3), "p95_s": round(_percentile(times, 0.95), 3),
            "max_s": round(max(times), 3) if times else 0.0,
        })
    errors = [{"session": v.session, "page": v.page, "error": v.error} for v in warm + views if not v.ok]
    expected = sessions * (1 + len(pages))
    if len(views) < expected and not capped:
        errors.append({"session": None, "page": None, "error": f"只完成 {len(views)}/{expected} 次打开"})
    if capped:
        errors.append({"session": None, "page": None, "error": capped})
    cpu = None if cpu_before is None or cpu_after is None else round(cpu_after - cpu_before, 2)
    return {
        "sessions": sessions,
        "url": url,
        "processes": processes,
        "protocol": "streamlit-websocket",
        "pages": per_page,
        "views": len(views),
        "wall_s": round(wall, 2),
        "server_cpu_s": cpu,
        "server_cpu_per_view_s": round(cpu / len(views), 3) if cpu is not None and views else None,
        "server_peak_rss_mb": None if peak_rss_mb is None else round(peak_rss_mb, 1),  # the largest process
        "errors": errors,
        "ok": not errors,
    }


def _run_async(make_coroutine):
    """asyncio.run in this thread, or in a worker thread when this thread already runs an
    event loop (a caller inside Playwright's or Jupyter's loop): the result either way."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coroutine())
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(lambda: asyncio.run(make_coroutine())).result()


def report(result: dict) -> str:
    lines = [f"== {result['sessions']} 个会话（{result['url']}，{result.get('processes', 1)} 个服务进程，"
             "Streamlit websocket 协议）："
             f"共 {result['views']} 次打开，用时 {result['wall_s']:.1f} 秒 =="]
    for page in result["pages"]:
        lines.append(f"  {page['page']:<12} {page['ok']:>3}/{page['views']:<3} p50 {page['p50_s']:6.2f} s"
                     f"  p95 {page['p95_s']:6.2f} s  最长 {page['max_s']:6.2f} s")
    if result["server_cpu_s"] is not None:
        lines.append(f"  服务进程 CPU {result['server_cpu_s']:.1f} 秒，每次打开 {result['server_cpu_per_view_s']:.3f} 秒")
    else:
        lines.append("  服务进程 CPU：未知（用 --url 时请加 --server-pid）")
    if result.get("server_peak_rss_mb") is not None:
        lines.append(f"  服务进程内存峰值 {result['server_peak_rss_mb']:,.0f} MB（最大的一个进程）")
    lines.append(f"  错误 {len(result['errors'])} 个" + ("" if result["ok"] else "："))
    for error in result["errors"][:20]:
        lines.append(f"    会话 {error['session']} {error['page']}：{error['error']}")
    return "\n".join(lines)
