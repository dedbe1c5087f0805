"""The `jongerenloket` command: serve, chat, db, coach, nlu and kaart."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.logging_setup import setup_logging
from data.settings import Settings, get_settings

log = logging.getLogger("jongerenloket")


def prepare_database(settings: Settings) -> None:
    """Migrate; then load the seed content into empty content tables (when `seed_content_on_start`)."""
    from data.migrate import upgrade

    upgrade(settings.database_url)
    if not settings.seed_content_on_start:
        return

    async def seed() -> None:
        from data.content_store import seed_if_empty
        from data.db import Database

        db = Database(settings.database_url)
        try:
            async with db.transaction() as session:
                await seed_if_empty(session)
        finally:
            await db.dispose()

    asyncio.run(seed())


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Migrate and seed, then serve web chat, webhooks and console on host:port."""
    import uvicorn

    from bot.app import build_app
    from bot.wiring import build_runtime

    prepare_database(settings)
    app = build_app(build_runtime(settings))
    host, port = args.host or settings.host, args.port or settings.port
    log.info("serving", extra={"host": host, "port": port})
    print(f"Jongerenloket draait op http://{host}:{port}/chat  (console: /console, health: /healthz)",
          file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    return 0


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    """Chat with the bot in this terminal."""
    from bot.channels.terminal import chat
    from bot.wiring import build_runtime

    prepare_database(settings)

    async def run() -> None:
        runtime = build_runtime(settings)
        try:
            await chat(runtime)
        finally:
            await runtime.db.dispose()

    asyncio.run(run())
    return 0


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    """Bring the database schema up to date."""
    from data.migrate import upgrade

    upgrade(settings.database_url)
    print("database is up to date")
    return 0


def cmd_coach_add(settings: Settings, args: argparse.Namespace) -> int:
    """Create a staff account and print its password once."""
    from data.accounts import add_coach
    from data.db import Database

    async def run() -> int:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as session:
                coach, password = await add_coach(session, name=args.name, email=args.email, role=args.role,
                                                  team=args.team)
        except ValueError as exc:
            print(f"not created: {exc}", file=sys.stderr)
            return 2
        finally:
            await db.dispose()
        print(f"account created: {coach.email} ({coach.role})\npassword (shown once): {password}")
        return 0

    return asyncio.run(run())


def cmd_coach_demo(settings: Settings, args: argparse.Namespace) -> int:
    """Create a demo coach when no account exists yet, and print its login once."""
    from data.accounts import add_coach, has_any_coach
    from data.db import Database

    async def run() -> int:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as session:
                if await has_any_coach(session):
                    print("staff accounts exist already; no demo account made")
                    return 0
                coach, password = await add_coach(session, name="Demo Begeleider", email="demo@jongerenloket.local",
                                                  role="teamleider")
        finally:
            await db.dispose()
        print(f"demo coach login: {coach.email} / {password}  (shown once)")
        return 0

    return asyncio.run(run())


def cmd_nlu_parse(settings: Settings, args: argparse.Namespace) -> int:
    """Print the NLU result of each text (or each stdin line) as one JSON object."""
    import json

    from nlu import load_engine
    from nlu.commands import parse_lines

    engine = load_engine(settings.nlu_engine, settings.rasa_url or None)
    lines = args.text if args.text else (line.rstrip("\n") for line in sys.stdin)
    for result in parse_lines(lines, engine):
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


def cmd_nlu_test(settings: Settings, args: argparse.Namespace) -> int:
    """Cross-validate the NLU on its training data and print the report."""
    from nlu.evaluate import cross_validate, format_report

    print(format_report(cross_validate(folds=args.folds)))
    return 0


def cmd_kaart_zoek(settings: Settings, args: argparse.Namespace) -> int:
    """Print the sociale-kaart entries the bot would offer for a question, best first."""
    import json

    from data.db import Database
    from flows.kaart import limits_age
    from flows.kaart_answers import MAX_RESULTS, Offer, search

    prepare_database(settings)
    engine = None
    if not args.zonder_nlu:
        from nlu import load_engine

        engine = load_engine(settings.nlu_engine, settings.rasa_url or None)
    text = " ".join(args.text)

    async def run() -> Offer:
        db = Database(settings.database_url)
        try:
            async with db.session() as session:
                return await search(session, text, age=args.leeftijd, lang=args.taal, nlu=engine)
        finally:
            await db.dispose()

    offer = asyncio.run(run())
    faq_id = offer.faq.entry.id if offer.faq else None
    rows = [{"id": r.entry.id, "naam": r.entry.naam, "organisatie": r.entry.organisatie,
             "min_age": r.entry.min_age, "max_age": r.entry.max_age, "score": r.score,
             "onderwerpen": r.entry.onderwerpen, "doelgroep_scholier": r.entry.doelgroep_scholier,
             "vereist_uitkering": r.entry.vereist_uitkering, "bron": offer.source, "faq": faq_id}
            for r in offer.ranked[:MAX_RESULTS]]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if offer.source == "none":
        print("Geen antwoord: de bot zegt dat hij het niet begrijpt en biedt het menu en een medewerker aan.")
        return 0
    if offer.faq is not None:
        print(f"FAQ: {faq_id} (score {offer.faq.score:.2f})")
    print(f"Onderwerpen: {', '.join(offer.topics) or '-'}")
    if offer.ask_age:
        print("Leeftijd onbekend: de bot vraagt eerst hoe oud de jongere is.")
    if not rows:
        print("Geen plekken die passen.")
    for n, r in enumerate(offer.ranked[:MAX_RESULTS], start=1):
        low, high = r.entry.min_age, r.entry.max_age
        ages = ("alle leeftijden" if not limits_age(r.entry) else f"{low}-{high} jaar" if low and high
                else f"{low}+ jaar" if low else f"t/m {high} jaar")
        notes = [ages] + (["scholieren"] if r.entry.doelgroep_scholier else []) + (
            ["met uitkering"] if r.entry.vereist_uitkering else [])
        print(f"{n:>2}. {r.entry.naam} – {r.entry.organisatie}  [{', '.join(notes)}]  score {r.score:.2f}")
    return 0


def parser() -> argparse.ArgumentParser:
    """Return the argument parser of the command."""
    p = argparse.ArgumentParser(prog="jongerenloket", description="Jongerenloket chatbot platform")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve web chat, webhooks and console")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("chat", help="chat with the bot in this terminal").set_defaults(func=cmd_chat)
    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="migrate to the newest schema").set_defaults(func=cmd_db_upgrade)
    coach = sub.add_parser("coach", help="staff accounts").add_subparsers(dest="coach_command", required=True)
    add = coach.add_parser("add", help="create a staff account")
    add.add_argument("--name", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--role", required=True, choices=["begeleider", "teamleider", "redacteur", "beheerder"])
    add.add_argument("--team", default="team-1")
    add.set_defaults(func=cmd_coach_add)
    coach.add_parser("demo", help="create a demo account if none exists").set_defaults(func=cmd_coach_demo)
    nlu = sub.add_parser("nlu", help="language understanding").add_subparsers(dest="nlu_command", required=True)
    parse = nlu.add_parser("parse", help="parse texts (or stdin lines) to JSON")
    parse.add_argument("text", nargs="*")
    parse.set_defaults(func=cmd_nlu_parse)
    test = nlu.add_parser("test", help="cross-validate on the training data")
    test.add_argument("--folds", type=int, default=5)
    test.set_defaults(func=cmd_nlu_test)
    kaart = sub.add_parser("kaart", help="sociale kaart").add_subparsers(dest="kaart_command", required=True)
    zoek = kaart.add_parser("zoek", help="show what the bot would offer for a question")
    zoek.add_argument("text", nargs="+", help="the question, as a jongere would type it")
    zoek.add_argument("--leeftijd", type=int, default=None, help="age of the jongere (default: unknown)")
    zoek.add_argument("--taal", choices=["nl", "en"], default="nl")
    zoek.add_argument("--json", action="store_true", help="print a JSON array")
    zoek.add_argument("--zonder-nlu", action="store_true", help="use keywords instead of the NLU model")
    zoek.set_defaults(func=cmd_kaart_zoek)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line."""
    args = parser().parse_args(argv)
    settings = get_settings()
    setup_logging(settings.log_level, settings.log_format)
    result: int = args.func(settings, args)
    return result


if __name__ == "__main__":
    sys.exit(main())
