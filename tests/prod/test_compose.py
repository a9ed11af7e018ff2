"""compose.yaml, the Dockerfile and the entry point agree with Settings (Docker does not run
here; the behaviour itself is proven with processes in test_replicas.py)."""

from __future__ import annotations

import re

import pytest
import yaml

from bot.config import REPO_ROOT, Mode, Settings, load_settings

COMPOSE = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
CADDYFILE = (REPO_ROOT / "deploy" / "Caddyfile").read_text()
# What an operator puts in .env (README "Production"); sample values.
OPERATOR_ENV = {
    "BOT_TOKEN": "123456:AAbbCCdd",
    "POSTGRES_PASSWORD": "pw",
    "WEBHOOK_DOMAIN": "bot.example.org",
    "WEBHOOK_SECRET": "aB3_x-Yz",
    "STAFF_CHAT_ID": "-1001234567890",
}
# Without these a replica does not run as production needs (webhook, shared state, health).
PRODUCTION = {
    "BOT_TOKEN", "DATABASE_URL", "REDIS_URL", "MODE", "WEBHOOK_URL", "WEBHOOK_SECRET",
    "WEBHOOK_PORT", "WEBHOOK_PATH", "HEALTH_PORT", "STAFF_CHAT_ID",
}  # fmt: skip
_VAR = re.compile(r"\$\{(\w+)(?::([?-])([^}]*))?\}")
BOTS = {name: s for name, s in COMPOSE["services"].items() if s.get("image") == "ipdesk:latest"}


def interpolate(value: str, env: dict[str, str]) -> str:
    """Docker Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}."""

    def one(match: re.Match[str]) -> str:
        name, how, arg = match.groups()
        if env.get(name):
            return env[name]
        if how == "?":
            raise AssertionError(f"compose needs {name}: {arg}")
        return arg if how == "-" else ""

    return _VAR.sub(one, value)


def bot_environment(service: dict) -> dict[str, str]:
    return {key: interpolate(str(v), OPERATOR_ENV) for key, v in service["environment"].items()}


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(instruction, arguments), continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


INSTRUCTIONS = instructions(DOCKERFILE)


def test_two_replicas_of_the_bot_behind_one_entry_point() -> None:
    assert sorted(BOTS) == ["bot-1", "bot-2"]
    assert {"postgres", "redis", "entry"} <= set(COMPOSE["services"])
    environments = [bot_environment(service) for service in BOTS.values()]
    assert environments[0] == environments[1]


@pytest.mark.parametrize("name", sorted(BOTS))
def test_every_variable_compose_sets_is_a_settings_field(name: str) -> None:
    fields = {field.upper() for field in Settings.model_fields}
    unknown = set(BOTS[name]["environment"]) - fields
    assert not unknown, f"{name} sets variables Settings does not read: {sorted(unknown)}"


def test_every_setting_the_readme_documents_reaches_the_replicas() -> None:
    """An operator's .env reaches a replica only through compose's list: whatever README's
    configuration table offers must be on it (but the sandbox's and development's own)."""
    readme = (REPO_ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\|[^|]*?`([A-Z_]+)`", table, re.MULTILINE))
    documented |= {
        name for row in re.findall(r"^\| (`[A-Z_]+`(?:, `[A-Z_]+`)+) \|", table, re.MULTILINE)
        for name in re.findall(r"`([A-Z_]+)`", row)
    }  # fmt: skip
    assert {"BOT_TOKEN", "WAITING_ALERT_HOURS", "WEBHOOK_PORT", "ADMIN_IDS"} <= documented
    local = {"TELEGRAM_API_BASE", "SANDBOX_PORT", "LOCALES_DIR"}
    for service in BOTS.values():
        missing = documented - local - set(service["environment"])
        assert not missing, f"documented but never passed to the bot: {sorted(missing)}"


def test_every_setting_production_needs_is_set_and_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    env = bot_environment(BOTS["bot-1"])
    assert PRODUCTION <= set(env), f"missing: {sorted(PRODUCTION - set(env))}"
    for field in Settings.model_fields:
        monkeypatch.delenv(field.upper(), raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(env_file=None)  # every validator passes
    assert settings.mode is Mode.WEBHOOK
    assert settings.database_url.get_secret_value().startswith("postgresql+asyncpg://")
    assert settings.redis_url is not None and settings.health_port == 8082
    assert settings.webhook_url == "https://bot.example.org"
    assert settings.staff_chat_id == -1001234567890


def test_the_entry_point_sends_updates_to_every_replica() -> None:
    env = bot_environment(BOTS["bot-1"])
    proxy = re.search(r"handle\s+(\S+)\s+\{\s+reverse_proxy\s+([^{]+)\{", CADDYFILE)
    assert proxy is not None  # what Caddy does with it: test_entry_point.py
    path, upstreams = proxy.group(1), set(proxy.group(2).split())
    assert path == env["WEBHOOK_PATH"]
    assert upstreams == {f"{name}:{env['WEBHOOK_PORT']}" for name in BOTS}
    assert re.search(rf"health_port\s+{env['HEALTH_PORT']}\b", CADDYFILE)
    assert "{$WEBHOOK_DOMAIN}" in CADDYFILE
    entry = COMPOSE["services"]["entry"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in entry["volumes"]


def test_the_image_is_multi_stage_slim_non_root_with_a_health_check() -> None:
    stages = [args for op, args in INSTRUCTIONS if op == "FROM"]
    assert len(stages) >= 2 and all("slim" in image for image in stages)
    users = [args for op, args in INSTRUCTIONS if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    check = " ".join(args for op, args in INSTRUCTIONS if op == "HEALTHCHECK")
    assert "/healthz" in check and "HEALTH_PORT" in check
    assert any("fonts-noto-cjk" in args for op, args in INSTRUCTIONS if op == "RUN")
    assert "python -m bot migrate && exec python -m bot run" in INSTRUCTIONS[-1][1]
    env = " ".join(args for op, args in INSTRUCTIONS if op == "ENV")
    names = set(re.findall(r"(\w+)=", env)) - {"PATH", "PYTHONPATH"}
    names = {name for name in names if not name.startswith(("PYTHON", "PIP_"))}
    fields = {field.upper() for field in Settings.model_fields}
    assert names and names <= fields, sorted(names - fields)
