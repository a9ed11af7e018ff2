"""Groups, forum topics, members and commands."""

from __future__ import annotations

from sandbox.server import StandIn
from sandbox.state import BotAccount
from tests.sandbox.conftest import Api


async def test_forum_topic_lifecycle(api: Api, stand: StandIn) -> None:
    forum = stand.create_supergroup("IP staff", forum=True)
    status, body = await api(
        "createForumTopic", json={"chat_id": forum.id, "name": "IP-2026-000001"}
    )
    assert status == 200, body
    topic = body["result"]
    thread = topic["message_thread_id"]
    assert topic == {"message_thread_id": thread, "name": "IP-2026-000001", "icon_color": 7322096}
    assert forum.topic_id("IP-2026-000001") == thread

    status, body = await api(
        "sendMessage", json={"chat_id": forum.id, "message_thread_id": thread, "text": "card"}
    )
    card = body["result"]
    assert card["is_topic_message"] is True and card["message_thread_id"] == thread
    # As in Telegram, a topic message with no explicit reply "replies" to the topic's root.
    assert card["reply_to_message"]["forum_topic_created"]["name"] == "IP-2026-000001"
    assert (await forum.expect_message(thread_id=thread))["text"] == "card"

    ref = {"chat_id": forum.id, "message_thread_id": thread}
    assert (await api("editForumTopic", json={**ref, "name": "IP-2026-000001 ✅"}))[0] == 200
    status, body = await api("editForumTopic", json={**ref, "name": "IP-2026-000001 ✅"})
    assert (status, body["description"]) == (400, "Bad Request: TOPIC_NOT_MODIFIED")
    assert (await api("closeForumTopic", json=ref))[0] == 200
    assert (await api("reopenForumTopic", json=ref))[0] == 200
    assert (await api("deleteForumTopic", json=ref))[0] == 200

    status, body = await api(
        "sendMessage", json={"chat_id": forum.id, "message_thread_id": thread, "text": "late"}
    )
    assert (status, body["description"]) == (400, "Bad Request: message thread not found")
    assert forum.messages(thread) == []
    assert stand.violations == []


async def test_topics_need_a_forum(api: Api, stand: StandIn) -> None:
    group = stand.create_supergroup("plain")
    status, body = await api("createForumTopic", json={"chat_id": group.id, "name": "t"})
    assert (status, body["description"]) == (400, "Bad Request: the chat is not a forum")


async def test_people_write_in_topics_and_bots_see_it(api: Api, stand: StandIn) -> None:
    forum = stand.create_supergroup("IP staff", forum=True)
    admin = stand.create_user("Admin")
    forum.add_member(admin, status="administrator")
    _, body = await api("createForumTopic", json={"chat_id": forum.id, "name": "ticket"})
    thread = body["result"]["message_thread_id"]
    sent = await admin.send("hello from staff", chat=forum, thread_id=thread)
    _, body = await api("getUpdates", json={})
    received = body["result"][-1]["message"]
    assert received == sent
    assert received["message_thread_id"] == thread and received["from"]["id"] == admin.id
    assert stand.violations == []


async def test_privacy_mode_for_member_bots(api: Api, stand: StandIn, account: BotAccount) -> None:
    group = stand.create_group("chatter")  # bots join as plain members: privacy mode applies
    person = stand.create_user("Dana")
    group.add_member(person)
    await person.send("just talking", chat=group)
    await person.send("/help@ipdesk_bot", chat=group)
    await person.send("/help@other_bot", chat=group)
    await person.send("hey @ipdesk_bot", chat=group)
    _, body = await api("getUpdates", json={})
    assert [u["message"]["text"] for u in body["result"]] == ["/help@ipdesk_bot", "hey @ipdesk_bot"]


async def test_members_and_chat_info(api: Api, stand: StandIn, account: BotAccount) -> None:
    forum = stand.create_supergroup("IP staff", forum=True)
    admin = stand.create_user("Admin")
    member = stand.create_user("Member")
    forum.add_member(admin, status="creator")
    forum.add_member(member)
    _, body = await api("getChatMember", json={"chat_id": forum.id, "user_id": member.id})
    assert body["result"]["status"] == "member"
    _, body = await api("getChatMember", json={"chat_id": forum.id, "user_id": account.id})
    assert body["result"]["status"] == "administrator" and body["result"]["can_manage_topics"]
    _, body = await api("getChatAdministrators", json={"chat_id": forum.id})
    assert {m["user"]["id"] for m in body["result"]} == {account.id, admin.id}
    _, body = await api("getChat", json={"chat_id": forum.id})
    assert body["result"]["is_forum"] is True and body["result"]["type"] == "supergroup"
    assert (await api("leaveChat", json={"chat_id": forum.id}))[0] == 200
    status, body = await api("sendMessage", json={"chat_id": forum.id, "text": "x"})
    assert (status, body["description"]) == (
        403,
        "Forbidden: bot is not a member of the supergroup chat",
    )
    assert stand.violations == []


async def test_commands_by_scope_and_language(api: Api, stand: StandIn) -> None:
    staff = stand.create_supergroup("IP staff", forum=True)
    admin = stand.create_user("Admin", language_code="ru")
    staff.add_member(admin, status="administrator")
    user = stand.create_user("Minji", language_code="ko")
    await api("setMyCommands", json={"commands": [{"command": "start", "description": "Start"}]})
    await api(
        "setMyCommands",
        json={
            "commands": [{"command": "start", "description": "시작"}],
            "language_code": "ko",
            "scope": {"type": "all_private_chats"},
        },
    )
    await api(
        "setMyCommands",
        json={
            "commands": [{"command": "stats", "description": "Статистика"}],
            "scope": {"type": "chat_administrators", "chat_id": staff.id},
        },
    )
    assert [c["description"] for c in user.visible_commands()] == ["시작"]
    assert [c["command"] for c in admin.visible_commands()] == ["start"]
    assert [c["command"] for c in admin.visible_commands(staff)] == ["stats"]
    _, body = await api("getMyCommands", json={"language_code": "ko"})
    assert body["result"] == []  # exact scope and language, as Telegram answers
    status, body = await api(
        "setMyCommands", json={"commands": [{"command": "Bad!", "description": "x"}]}
    )
    assert (status, body["description"]) == (400, "Bad Request: BOT_COMMAND_INVALID")
    assert stand.violations == []


async def test_descriptions_and_names(api: Api) -> None:
    await api("setMyDescription", json={"description": "Жалобы", "language_code": "ru"})
    await api("setMyShortDescription", json={"short_description": "IP desk"})
    _, body = await api("getMyDescription", json={"language_code": "ru"})
    assert body["result"] == {"description": "Жалобы"}
    _, body = await api("getMyShortDescription", json={})
    assert body["result"] == {"short_description": "IP desk"}
    _, body = await api("getMyName", json={})
    assert body["result"] == {"name": "ipdesk"}
    status, _ = await api("setMyShortDescription", json={"short_description": "x" * 121})
    assert status == 400
