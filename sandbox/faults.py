"""Trouble a test asks for: error answers, proxy pages, lost answers, timeouts, slow answers.

Every fault fires either `when="before"` the call takes effect (nothing was sent) or
`when="after"` it (the message is in the chat, but the bot hears an error or nothing at all),
the second kind being what makes duplicates possible. A fault matches one method (any case;
"*" for every method) and, if given, one `chat_id`; it fires `times` times, the oldest matching
fault first.

    stand.faults.flood("sendMessage", retry_after=3, when="after", chat_id=user.id)
    stand.faults.bad_gateway("sendMessage", html=True)      # a proxy's HTML page, not JSON
    stand.faults.timeout("copyMessage", when="after")       # no answer until the client gives up
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from sandbox.errors import ApiError

WhenName = Literal["before", "after"]

BAD_GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
BLOCKED = (403, "Forbidden: bot was blocked by the user")
THREAD_NOT_FOUND = (400, "Bad Request: message thread not found")
REPLY_NOT_FOUND = (400, "Bad Request: message to be replied not found")
SERVER_ERRORS = {500: "Internal Server Error", 502: "Bad Gateway"}
HANG_LIMIT = 300.0  # a timeout fault never holds a request longer than this


class When(StrEnum):
    """Whether the call takes effect before the bot hears about the fault."""

    BEFORE = "before"  # nothing happened
    AFTER = "after"  # the call took effect (a message was sent), then the answer went wrong


class Answer(StrEnum):
    """How the bot hears about the fault."""

    ERROR = "error"  # a JSON error answer, e.g. 429 with parameters.retry_after
    PAGE = "page"  # a non-JSON answer, as a proxy in front of Telegram sends
    DROP = "drop"  # the connection closes without an answer
    HANG = "hang"  # no answer at all, until the client's timeout
    SLOW = "slow"  # the real answer, late (the call always takes effect)


@dataclass
class Fault:
    method: str  # lower-case method name, or "*" for any
    answer: Answer
    when: When = When.BEFORE
    times: int = 1
    chat_id: int | str | None = None
    error: ApiError | None = None
    seconds: float = 0.0  # SLOW: the delay; HANG: how long the answer is held at most
    fired: int = 0

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        if self.method not in ("*", method.lower()):
            return False
        return self.chat_id is None or str(params.get("chat_id")) == str(self.chat_id)

    @property
    def takes_effect(self) -> bool:
        return self.when is When.AFTER or self.answer is Answer.SLOW

    @property
    def label(self) -> str:
        """A short name for the record: "429 after", "timeout before", "html 502 after"."""
        what = {
            Answer.ERROR: str(self.error.code if self.error else "error"),
            Answer.PAGE: "html 502",
            Answer.DROP: "dropped connection",
            Answer.HANG: "timeout",
            Answer.SLOW: f"slow {self.seconds:g}s",
        }[self.answer]
        return f"{what} {self.when.value}"

    def response(self, result: Any) -> dict[str, Any]:
        """The answer to record: what the bot is told, or a note that it is told nothing."""
        if self.answer is Answer.ERROR and self.error is not None:
            return self.error.payload()
        if self.answer is Answer.PAGE:
            return {"ok": False, "error_code": 502, "description": "Bad Gateway (an HTML page)"}
        if self.answer is Answer.DROP:
            return {"ok": False, "description": "no answer: the connection was closed"}
        if self.answer is Answer.HANG:
            return {"ok": False, "description": "no answer: held until the client gave up"}
        return {"ok": True, "result": result}

    @property
    def answered(self) -> bool:
        return self.answer not in (Answer.DROP, Answer.HANG)


class Faults:
    """Pending injected faults; `take` hands out the oldest one matching a call."""

    def __init__(self) -> None:
        self.pending: list[Fault] = []

    def _push(
        self,
        method: str,
        answer: Answer,
        *,
        when: WhenName | When,
        times: int,
        chat_id: int | str | None,
        error: ApiError | None = None,
        seconds: float = 0.0,
    ) -> Fault:
        if times < 1:
            raise ValueError("a fault fires at least once")
        fault = Fault(method.lower(), answer, When(when), times, chat_id, error, seconds)
        self.pending.append(fault)
        return fault

    def add(
        self,
        method: str,
        code: int,
        description: str,
        *,
        when: WhenName = "before",
        times: int = 1,
        chat_id: int | str | None = None,
        **parameters: Any,
    ) -> Fault:
        """Answer `method` with this JSON error (`parameters` become the error's `parameters`)."""
        error = ApiError(code, description, parameters or None)
        return self._push(
            method, Answer.ERROR, when=when, times=times, chat_id=chat_id, error=error
        )

    def flood(
        self,
        method: str,
        retry_after: int,
        *,
        when: WhenName = "before",
        times: int = 1,
        chat_id: int | str | None = None,
    ) -> Fault:
        """A 429 "Too Many Requests: retry after N": `parameters.retry_after` and `Retry-After`."""
        description = f"Too Many Requests: retry after {retry_after}"
        return self.add(
            method,
            429,
            description,
            when=when,
            times=times,
            chat_id=chat_id,
            retry_after=retry_after,
        )

    def server_error(
        self,
        method: str,
        code: int = 500,
        *,
        when: WhenName = "before",
        times: int = 1,
        chat_id: int | str | None = None,
    ) -> Fault:
        """A JSON 5xx answer: `{"ok": false, "error_code": 500, "description": ...}`."""
        description = SERVER_ERRORS.get(code, "Internal Server Error")
        return self.add(method, code, description, when=when, times=times, chat_id=chat_id)

    def bad_gateway(
        self,
        method: str,
        *,
        html: bool = True,
        when: WhenName = "before",
        times: int = 1,
        chat_id: int | str | None = None,
    ) -> Fault:
        """A 502: a proxy's HTML page (`html=True`), or Telegram's JSON "Bad Gateway"."""
        if not html:
            return self.server_error(method, 502, when=when, times=times, chat_id=chat_id)
        return self._push(method, Answer.PAGE, when=when, times=times, chat_id=chat_id)

    def timeout(
        self,
        method: str,
        *,
        when: WhenName = "before",
        times: int = 1,
        chat_id: int | str | None = None,
        seconds: float = HANG_LIMIT,
    ) -> Fault:
        """No answer: the request is held (at most `seconds`, or until the stand-in stops)."""
        return self._push(
            method, Answer.HANG, when=when, times=times, chat_id=chat_id, seconds=seconds
        )

    def drop_connection(
        self,
        method: str,
        *,
        when: WhenName | None = None,
        after: bool = True,
        times: int = 1,
        chat_id: int | str | None = None,
    ) -> Fault:
        """Close the connection instead of answering (`when` wins over the older `after`)."""
        moment = when or ("after" if after else "before")
        return self._push(method, Answer.DROP, when=moment, times=times, chat_id=chat_id)

    def delay(
        self,
        method: str,
        seconds: float,
        *,
        when: WhenName = "before",
        times: int = 1,
        chat_id: int | str | None = None,
    ) -> Fault:
        """Answer late: wait, then run the call ("before"), or run it, then wait ("after")."""
        return self._push(
            method, Answer.SLOW, when=when, times=times, chat_id=chat_id, seconds=seconds
        )

    def blocked(
        self,
        method: str = "*",
        *,
        when: WhenName = "before",
        times: int = 1,
        chat_id: int | str | None = None,
    ) -> Fault:
        """403 "Forbidden: bot was blocked by the user"."""
        return self.add(method, *BLOCKED, when=when, times=times, chat_id=chat_id)

    def thread_not_found(
        self,
        method: str,
        *,
        when: WhenName = "before",
        times: int = 1,
        chat_id: int | str | None = None,
    ) -> Fault:
        """400 "Bad Request: message thread not found" (a deleted or archived topic)."""
        return self.add(method, *THREAD_NOT_FOUND, when=when, times=times, chat_id=chat_id)

    def reply_not_found(
        self,
        method: str,
        *,
        when: WhenName = "before",
        times: int = 1,
        chat_id: int | str | None = None,
    ) -> Fault:
        """400 "Bad Request: message to be replied not found"."""
        return self.add(method, *REPLY_NOT_FOUND, when=when, times=times, chat_id=chat_id)

    def clear(self) -> None:
        self.pending.clear()

    def take(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self.pending:
            if fault.matches(method, params):
                fault.times -= 1
                fault.fired += 1
                if fault.times <= 0:
                    self.pending.remove(fault)
                return fault
        return None
