"""The `bokji` command line. Exit codes: 0 ok, 1 failure, 2 rejected input (message names the cause)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from bokji import words
from bokji.errors import BokjiError
from bokji.i18n import gettext as _


def _json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def cmd_run(args) -> int:
    from bokji.launcher import run

    return run(host=args.host, port=args.port, workers=args.workers)


def cmd_serve(args) -> int:
    import uvicorn

    uvicorn.run("api.app:app", host=args.host, port=args.port, workers=args.processes,
                log_level="warning", access_log=False, log_config=None)  # our handlers (bokji/logs.py)
    return 0


def cmd_simulator(args) -> int:
    import uvicorn

    uvicorn.run("simulator.app:app", host=args.host, port=args.port, log_level="warning", access_log=False,
                log_config=None)
    return 0


def cmd_worker(args) -> int:
    from workers.worker import work

    work(burst=args.burst, name=args.name)
    return 0


def cmd_scheduler(args) -> int:
    from workers.scheduler import run_forever, tick

    if args.once:
        _json(tick(sweep=True))
        return 0
    run_forever()
    return 0


def cmd_monitor(args) -> int:
    from workers.monitor import once, run_forever

    if args.once:
        done = once()
        _json({"skipped": done.skipped, "recounted": done.recounted, "duration_ms": done.duration_ms})
        return 0
    return run_forever()


def cmd_migrate(args) -> int:
    from alembic import command
    from alembic.config import Config

    from bokji.config import ROOT

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    command.upgrade(config, args.revision)
    return 0


def cmd_seed_demo(args) -> int:
    from bokji.catalog.service import load as load_catalog
    from bokji.config import get_settings
    from bokji.db import unit_of_work
    from bokji.identity.service import seed_demo_users
    from bokji.offices.service import load as load_offices
    from bokji.rules.parameters import load as load_parameters
    from bokji.steps.service import deploy_directory
    from bokji.teams.service import seed_demo_teams

    with unit_of_work() as session:
        load_offices(session)
        created = seed_demo_users(session)
        seed_demo_teams(session)
        result = deploy_directory(session, get_settings().bpmn_dir)
        services = load_catalog(session)
        figures = load_parameters(session)
    print(f"demo users created: {', '.join(created) or 'none (already there)'}; catalog: {services} services; "
          f"rule parameters: {figures}")
    if result is not None:
        print(f"process library: {'deployed' if result.created else 'unchanged'}")
    return 0


def cmd_deploy(args) -> int:
    from bokji.db import unit_of_work
    from bokji.steps.service import deploy

    files: dict[str, bytes] = {}
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise _Usage(_("%(file)s: no such file.") % {"file": name})
        if path.name in files:
            raise _Usage(_("%(file)s: given twice.") % {"file": path.name})
        files[path.name] = path.read_bytes()
    with unit_of_work() as session:
        result = deploy(session, files, actor=args.actor, source="cli", ministry=args.ministry)
        out = {
            "deployment_id": str(result.deployment.id), "created": result.created,
            "definitions": [{"kind": d.kind, "key": d.key, "version": d.version} for d in result.definitions],
            "warnings": result.warnings,
        }
    for warning in out["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    _json(out)
    return 0


def cmd_layout(args) -> int:
    """Add a diagram to BPMN files that have none (in place); files already drawn are left alone."""
    from lxml import etree

    from processes.diagram import add_diagram

    for name in args.files:
        path = Path(name)
        if not path.is_file() or path.suffix != ".bpmn":
            raise _Usage(_("%(file)s: not a .bpmn file.") % {"file": name})
        before = path.read_bytes()
        try:
            after = add_diagram(before)
        except etree.XMLSyntaxError as exc:
            raise _Usage(_("%(file)s: not well-formed XML (%(error)s).") % {"file": name, "error": exc}) from None
        if after != before:
            path.write_bytes(after)
            print(f"{name}: diagram added")
        else:
            print(f"{name}: already drawn (unchanged)")
    return 0


def cmd_definitions(args) -> int:
    from bokji.db import unit_of_work
    from bokji.definitions.service import list_definitions

    with unit_of_work() as session:
        rows = [{"kind": d.kind, "key": d.key, "version": d.version, "name": d.name,
                 "deployed_at": d.deployed_at} for d in list_definitions(session, all_versions=args.all)]
    _json(rows)
    return 0


def _actor(username: str):
    from sqlalchemy import select

    from bokji.db import unit_of_work
    from bokji.identity.models import User
    from bokji.identity.service import Principal

    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise _Usage(_("--as %(username)s: no such user.") % {"username": username})
        return Principal.of(user)


def cmd_start(args) -> int:
    from bokji.db import unit_of_work
    from bokji.steps.service import start_requested

    try:
        data = json.loads(args.data)
    except ValueError as exc:
        raise _Usage(_("--data is not valid JSON: %(error)s") % {"error": exc}) from None
    who = _actor(args.as_user)
    with unit_of_work() as session:
        # As the named user would through the API: what the model declares decides who may start it.
        instance = start_requested(session, key=args.key, version=args.version, data=data,
                                   business_key=args.business_key, actor=who, office=args.office)
        out = {"id": str(instance.id), "status": instance.status, "stage": instance.stage,
               "incidents": _incidents(session, instance.id)}
    _json(out)
    return 0


def _incidents(session, instance_id) -> list[dict]:
    from bokji.instances import service as instances

    return [{"id": str(i.id), "element": i.element_id, "kind": i.kind, "message": i.message}
            for i in instances.open_incidents(session, instance_id=instance_id)]


def cmd_instance(args) -> int:
    from bokji.db import unit_of_work
    from bokji.instances import service as instances

    with unit_of_work() as session:
        instance = instances.get(session, args.id)
        out = {
            "id": str(instance.id), "key": instance.definition_key, "version": instance.definition_version,
            "business_key": instance.business_key, "status": instance.status, "stage": instance.stage,
            "history": [{"element": h.element_id, "type": h.element_type, "stage": h.stage,
                         "actor": h.actor, "outcome": h.outcome, "started_at": h.started_at,
                         "ended_at": h.ended_at} for h in instances.history(session, instance.id)],
            "incidents": _incidents(session, instance.id),
        }
    _json(out)
    return 0


def cmd_clock(args) -> int:
    from bokji import clock
    from bokji.db import unit_of_work

    if args.ahead_days is not None:
        with unit_of_work() as session:
            clock.move(session, offset_seconds=args.ahead_days * 86400, actor="cli")
        clock.forget()
    _json({"now": clock.now().isoformat(), "ahead_seconds": clock.offset().total_seconds()})
    return 0


def cmd_screen(args) -> int:
    from datetime import date

    from bokji.db import unit_of_work
    from bokji.screening.service import screen

    try:
        household = json.loads(Path(args.household).read_text())
    except OSError as exc:
        raise _Usage(_("%(file)s: %(error)s") % {"file": args.household, "error": exc.strerror}) from None
    except ValueError as exc:
        raise _Usage(_("%(file)s: not valid JSON (%(error)s).") % {"file": args.household, "error": exc}) from None
    try:
        on = date.fromisoformat(args.on) if args.on else date.today()
    except ValueError:
        raise _Usage(_("--on %(date)s: expected YYYY-MM-DD.") % {"date": args.on}) from None
    with unit_of_work() as session:
        result = screen(session, household, on).to_dict()
    if not args.text:
        _json(result)
        return 0
    print(_("Screening on %(date)s (figures of %(year)s), a household of %(size)s") % {
        "date": result["on"], "year": result["parameter_year"], "size": result["household_size"]})
    for r in result["results"]:
        amount = (words.won(r["expected_amount"], r["period"]) if r["expected_amount"] is not None
                  else words.name(words.PAYMENT_KINDS, r["payment"]) if r["status"] == "eligible" else "")
        months = _(" for %(count)s months") % {"count": r["duration_months"]} if r["duration_months"] else ""
        flag = " [" + _("unverified") + "]" if r["unverified"] else ""
        print(f"\n{r['code']}  {r['name_ko']}: {words.name(words.ELIGIBILITY, r['status'])}  {amount}{months}{flag}")
        for reason in r["reasons"]:
            print(f"  - {reason}")
        if args.trace:
            unverified = " (" + _("unverified") + ")"
            for step in r["assessment"]["trace"]:
                result_text = "" if step["result"] is None else f" = {step['result']:,}"
                print(f"      {step['text']}{result_text}{unverified if step['unverified'] else ''}")
    return 0


def _load_data_file(load, default: Path, file: str | None, what: str) -> int:
    """Load one of the committed data files (or another file of the same format) in one transaction."""
    from bokji.db import unit_of_work

    path = Path(file) if file else default
    with unit_of_work() as session:
        count = load(session, path)
    print(f"{what} loaded: {count} from {path.name}")
    return 0


def cmd_rules(args) -> int:
    from bokji.rules import parameters

    return _load_data_file(parameters.load, parameters.DATA_FILE, args.file, "rule parameters (figure-years)")


def cmd_catalog(args) -> int:
    from bokji.catalog import service as catalog

    if args.action == "generate":
        if not args.file:
            raise _Usage(_("catalog generate needs the file to write."))
        document = catalog.generate_synthetic(args.services, args.ministries)
        Path(args.file).write_text(json.dumps(document, ensure_ascii=False, indent=1))
        print(f"wrote {len(document['services'])} services (synthetic) to {args.file}")
        return 0
    return _load_data_file(catalog.load, catalog.DATA_FILE, args.file, "catalog services")


def cmd_offices(args) -> int:
    from bokji.offices import service as offices

    return _load_data_file(offices.load, offices.DATA_FILE, args.file, "offices")


def cmd_admin_create(args) -> int:
    from bokji.db import unit_of_work
    from bokji.identity.service import create_user

    password = args.password or getpass.getpass("password: ")
    with unit_of_work() as session:
        create_user(session, username=args.username, password=password, roles=args.roles.split(","),
                    display_name=args.name, office=args.office, ministry=args.ministry,
                    grants=[g for g in (args.grants or "").split(",") if g])
    print(f"user {args.username} created")
    return 0


class _Usage(BokjiError):
    exit_code = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bokji", description="Welfare services as BPMN processes")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="the whole platform with private PostgreSQL and Redis (Ctrl-C stops)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("serve", help="the HTTP API and pages")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--processes", type=int, default=1)
    p.set_defaults(fn=cmd_serve)

    p = sub.add_parser("simulator", help="the agency simulator (an HTTP service of its own)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8100)
    p.set_defaults(fn=cmd_simulator)

    p = sub.add_parser("worker", help="an RQ worker for automated tasks")
    p.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    p.add_argument("--name")
    p.set_defaults(fn=cmd_worker)

    p = sub.add_parser("scheduler", help="fires timers, retries jobs, recovers jobs Redis lost")
    p.add_argument("--once", action="store_true")
    p.set_defaults(fn=cmd_scheduler)

    p = sub.add_parser("monitor", help="keeps the dashboard's summary tables (every BOKJI_MONITOR_INTERVAL s)")
    p.add_argument("--once", action="store_true")
    p.set_defaults(fn=cmd_monitor)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.add_argument("revision", nargs="?", default="head")
    p.set_defaults(fn=cmd_migrate)

    p = sub.add_parser("seed-demo", help="demo users and the process library (demo mode only)")
    p.set_defaults(fn=cmd_seed_demo)

    p = sub.add_parser("deploy", help="validate and deploy BPMN/DMN/form files as one version")
    p.add_argument("files", nargs="+")
    p.add_argument("--actor", default=getpass.getuser())
    p.add_argument("--ministry", help="the owning ministry of processes that declare none (e.g. MOHW)")
    p.set_defaults(fn=cmd_deploy)

    p = sub.add_parser("layout", help="add a diagram (BPMNDI) to BPMN files that have none, in place")
    p.add_argument("files", nargs="+")
    p.set_defaults(fn=cmd_layout)

    p = sub.add_parser("definitions", help="list deployed definitions")
    p.add_argument("--all", action="store_true", help="every version, not only the latest")
    p.set_defaults(fn=cmd_definitions)

    p = sub.add_parser("start", help="start an instance")
    p.add_argument("key")
    p.add_argument("--data", default="{}", help="JSON object")
    p.add_argument("--business-key")
    p.add_argument("--version", type=int)
    p.add_argument("--as", dest="as_user", required=True, help="username acting")
    p.add_argument("--office", help="the office the case belongs to (a process without an applicant)")
    p.set_defaults(fn=cmd_start)

    p = sub.add_parser("instance", help="show an instance with its history")
    p.add_argument("id")
    p.set_defaults(fn=cmd_instance)

    p = sub.add_parser("screen", help="which services could a household get, with amounts (prints JSON)")
    p.add_argument("household", help="household JSON file (README: Screening)")
    p.add_argument("--on", help="application date YYYY-MM-DD (default today)")
    p.add_argument("--text", action="store_true", help="a readable list: status, amount with unit and period, "
                                                       "reasons")
    p.add_argument("--trace", action="store_true", help="with --text: every calculation step")
    p.set_defaults(fn=cmd_screen)

    p = sub.add_parser("rules", help="load the benefit rule parameters (dated, sourced figures)")
    p.add_argument("action", choices=["load"])
    p.add_argument("file", nargs="?", help="parameters JSON (default bokji/rules/parameters.json)")
    p.set_defaults(fn=cmd_rules)

    p = sub.add_parser("catalog", help="load the service catalog, or generate a synthetic one")
    p.add_argument("action", choices=["load", "generate"])
    p.add_argument("file", nargs="?", help="catalog JSON (load: default bokji/catalog/services.json)")
    p.add_argument("--services", type=int, default=292)
    p.add_argument("--ministries", type=int, default=17)
    p.set_defaults(fn=cmd_catalog)

    p = sub.add_parser("offices", help="load the office reference table (code, name, region, parent)")
    p.add_argument("action", choices=["load"])
    p.add_argument("file", nargs="?", help="offices JSON (default bokji/offices/offices.json)")
    p.set_defaults(fn=cmd_offices)

    p = sub.add_parser("clock", help="show the platform's clock, or move it (test and demo platforms only)")
    p.add_argument("--ahead-days", type=float, help="run this many days ahead of the system clock (0: in step)")
    p.set_defaults(fn=cmd_clock)

    admin = sub.add_parser("admin", help="user administration").add_subparsers(dest="admin", required=True)
    p = admin.add_parser("create", help="create a user (the first admin in production)")
    p.add_argument("--username", required=True)
    p.add_argument("--password", help="prompted for when omitted")
    p.add_argument("--roles", default="admin", help="comma-separated")
    p.add_argument("--name")
    p.add_argument("--office")
    p.add_argument("--ministry")
    p.add_argument("--grants", help="an integration system's, comma-separated: topic:<name>,message:<name>")
    p.set_defaults(fn=cmd_admin_create)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ["BOKJI_PROCESS"] = args.command
    from bokji import logs

    logs.configure()
    try:
        return args.fn(args)
    except BokjiError as exc:
        print(f"bokji {args.command}: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # an outage or a bug: say what, not a stack trace
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            print(f"bokji {args.command}: the database is unavailable ({exc.orig})", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
