"""`python -m bot run | migrate | faq ...`"""

from __future__ import annotations

import argparse
import asyncio
import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["faq"]:
        from bot.faq.cli import main as faq_main

        return faq_main(argv[1:])

    parser = argparse.ArgumentParser(prog="python -m bot", description="ipdesk support bot")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot (MODE=polling or webhook)")
    sub.add_parser("migrate", help="bring the database schema up to date")
    sub.add_parser("faq", help="FAQ content tools: check, match, export")
    args = parser.parse_args(argv)

    from bot.config import ConfigError, load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2

    from bot.failures import explain

    secrets = tuple(
        secret.get_secret_value()
        for secret in (settings.bot_token, settings.database_url, settings.redis_url)
        if secret is not None
    )
    if args.command == "migrate":
        from bot.migrate import upgrade

        try:
            upgrade(settings.database_url.get_secret_value())
        except Exception as exc:
            if (line := explain(exc, secrets)) is None:
                raise
            print(f"migrate failed: {line}", file=sys.stderr)
            return 1
        return 0

    from bot.logs import setup_logging

    setup_logging()
    if settings.bot_token is None:
        print(
            "invalid configuration: BOT_TOKEN: not set (use `make run` for the sandbox)",
            file=sys.stderr,
        )
        return 2
    from bot.faq.content import FaqContentError
    from bot.runner import run

    try:
        asyncio.run(run(settings))
    except FaqContentError as exc:
        print(f"invalid FAQ content: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if (line := explain(exc, secrets)) is None:
            raise
        print(f"the bot stopped: {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
