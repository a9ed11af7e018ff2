"""Roles through the stand-in: admin commands are unknown to everyone else, /grant and /revoke
change roles (and menus), /staff lists who holds them, /audit shows every admin action."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from db.models import AuditEntry, User
from sandbox.driver import GroupDriver, UserDriver
from tests.conftest import RunningBot
from tests.helpers import visible

ADMIN_COMMANDS = ("/broadcast", "/grant 1 staff", "/revoke 1", "/staff", "/audit")
ADMIN_MENU = {"broadcast", "grant", "revoke", "staff", "audit"}


async def started(app: RunningBot, name: str, lang: str = "en", **kwargs: str) -> UserDriver:
    """A person who has written to the bot (so the bot knows them)."""
    person = app.stand.create_user(name, language_code=lang, **kwargs)
    await person.send("/start")
    await person.expect_message()
    return person


async def unknown_answer(person: UserDriver, command: str) -> str:
    await person.send(command)
    return visible((await person.expect_message())["text"])


async def stored(app: RunningBot, user_id: int) -> User | None:
    async with app.resources.sessionmaker() as session:
        return await session.get(User, user_id)


async def audit_rows(app: RunningBot) -> list[AuditEntry]:
    async with app.resources.sessionmaker() as session:
        return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


@pytest.fixture
def boss(stand) -> UserDriver:  # type: ignore[no-untyped-def]
    return stand.create_user("Boss", language_code="en", username="boss")


async def test_admin_commands_are_unknown_to_everyone_else(make_app, boss: UserDriver) -> None:  # type: ignore[no-untyped-def]
    staff_member = boss.stand.create_user("Aigul", language_code="en")
    app = await make_app(admin_ids=str(boss.id), staff_ids=str(staff_member.id))
    user = await started(app, "Jane")
    await staff_member.send("/start")
    await staff_member.expect_message()
    for person in (user, staff_member):
        for command in ADMIN_COMMANDS:
            name = command.split()[0]
            assert await unknown_answer(person, command) == (
                f"I don't know the command {name}. Send /help to see what I can do."
            )
    # A forged admin button is refused like any stale one, and nothing changes.
    menu = app.stand.chat_messages(user.chat_id)[-1]
    await user.press(menu, forged="bc:send:0:")
    assert (await user.expect_callback_answer() or "").startswith("This button is no longer")
    assert await audit_rows(app) == []


async def test_only_admins_see_the_admin_menu(make_app, boss: UserDriver) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(admin_ids=str(boss.id))
    user = await started(app, "Jane")
    admin_menu = {c["command"] for c in boss.visible_commands()}
    assert ADMIN_MENU <= admin_menu and "start" in admin_menu
    assert not ADMIN_MENU & {c["command"] for c in user.visible_commands()}


async def test_grant_revoke_staff_and_audit(make_app, boss: UserDriver) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(admin_ids=str(boss.id))
    await boss.send("/start")
    await boss.expect_message()
    aigul = await started(app, "Aigul", username="aigul_kz")
    dana = await started(app, "Dana", lang="ru")

    await boss.send("/grant @aigul_kz staff")
    assert visible((await boss.expect_message())["text"]) == (
        f"Aigul @aigul_kz ({aigul.id}) is now a staff member."
    )
    await boss.send(f"/grant {dana.id} admin")
    assert visible((await boss.expect_message())["text"]).endswith("is now an admin.")
    assert (await stored(app, aigul.id)).role == "staff"  # type: ignore[union-attr]
    assert (await stored(app, dana.id)).role == "admin"  # type: ignore[union-attr]
    assert ADMIN_MENU <= {c["command"] for c in dana.visible_commands()}
    assert not ADMIN_MENU & {c["command"] for c in aigul.visible_commands()}

    # The new admin may act now; the staff member may not.
    await dana.send("/staff")
    listing = visible((await dana.expect_message())["text"]).splitlines()
    assert listing[1:] == [
        f"Администратор · Boss @boss ({boss.id}) · задан в конфигурации",
        f"Администратор · Dana ({dana.id})",
        f"Сотрудник · Aigul @aigul_kz ({aigul.id})",
    ]
    assert (await unknown_answer(aigul, "/staff")).startswith("I don't know the command")

    await boss.send(f"/revoke {dana.id}")
    assert visible((await boss.expect_message())["text"]) == (
        f"Dana ({dana.id}) is no longer an admin."
    )
    assert (await stored(app, dana.id)).role is None  # type: ignore[union-attr]
    assert not ADMIN_MENU & {c["command"] for c in dana.visible_commands()}
    assert (await unknown_answer(dana, "/staff")).startswith("Я не знаю команды")

    entries = await audit_rows(app)
    assert [(e.actor_id, e.action, e.target, json.loads(e.details or "{}")) for e in entries] == [
        (boss.id, "role.grant", f"user:{aigul.id}", {"role": "staff", "previous": None}),
        (boss.id, "role.grant", f"user:{dana.id}", {"role": "admin", "previous": None}),
        (boss.id, "role.revoke", f"user:{dana.id}", {"role": "admin"}),
    ]
    await boss.send("/audit")
    log = visible((await boss.expect_message())["text"]).splitlines()
    assert log[0] == "Audit log, page 1 (times in UTC)"
    assert log[1].endswith(f"{boss.id} · took the role Admin from {dana.id}")
    assert log[3].endswith(f"{boss.id} · granted the role Staff to {aigul.id}")


async def test_roles_that_cannot_be_changed(make_app, boss: UserDriver) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(admin_ids=str(boss.id))
    await boss.send("/start")
    await boss.expect_message()
    await boss.send("/grant @nobody_here staff")
    assert (await boss.expect_message())["text"].startswith("Nobody with that id or username")
    await boss.send(f"/revoke {boss.id}")
    assert "set in the server configuration" in (await boss.expect_message())["text"]
    await boss.send("/grant someone")
    assert (await boss.expect_message())["text"].startswith("To grant a role:")
    assert await audit_rows(app) == []


async def test_a_granted_staff_member_acts_in_the_staff_chat(
    make_app,  # type: ignore[no-untyped-def]
    boss: UserDriver,
    staff_chat: GroupDriver,
) -> None:
    app = await make_app(admin_ids=str(boss.id), staff_chat_id=staff_chat.id)
    staff_chat.add_bot(app.stand.world.bots[app.bot.id])
    await boss.send("/start")
    await boss.expect_message()
    aigul = await started(app, "Aigul", lang="ru")
    staff_chat.add_member(aigul)
    await aigul.send("// note", chat=staff_chat)
    refusal = await staff_chat.expect_message()
    assert refusal["text"] == "Действовать здесь могут только сотрудники; ничего не изменено."
    await boss.send(f"/grant {aigul.id} staff")
    await boss.expect_message()
    await aigul.send("// note", chat=staff_chat)
    await staff_chat.expect_no_message(within=0.5)
