"""The Bot API specification as data, and a strict checker built on it.

The spec is `bot-api.json` (Bot API 10.1, scraped from Telegram's documentation by the
telegram-bot-api-spec project). It is the stand-in's independent reference: every request a bot
makes and every object the stand-in returns or pushes is checked against it, never against a
client library's models.

Type expressions are the spec's own strings: `Integer`, `String`, `Boolean`, `Float`,
`InputFile`, a type name, or `Array of <expression>`. A field lists one or more expressions
(a union). Abstract types (`ChatMember`, `InputMedia`, ...) list their `subtypes`; a concrete
subtype is recognised by its constant discriminator ("always \"creator\"", "must be photo").
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

log = logging.getLogger(__name__)

SPEC_ENV = "IPDESK_BOTAPI_SPEC"
REQUIRE_ENV = "IPDESK_REQUIRE_SERVICES"

# Parameters that clients send but the 10.1 spec does not know yet, per method.
# Every entry needs a comment naming the client and the Bot API version that added it.
# Empty: aiogram 3.31 and python-telegram-bot 22.8 send nothing newer than 10.1.
NEWER_THAN_SPEC: Mapping[str, frozenset[str]] = {}
# Fields of returned objects that the spec lacks but clients require. Keep it short, and say why.
OBJECT_FIELDS_BEYOND_SPEC: Mapping[str, frozenset[str]] = {
    # aiogram 3.31 requires it on ChatMemberAdministrator (getChatMember would fail to parse);
    # Telegram sends it, the scraped 10.1 spec does not list it.
    "ChatMemberAdministrator": frozenset({"can_send_welcome_messages"}),
}

_ARRAY = "Array of "
_PRIMITIVES = frozenset({"Integer", "Float", "Boolean", "String", "InputFile"})
_CONST_RE = re.compile(r'(?:always|must be) "?([A-Za-z0-9_]+)"?\s*\.?\s*$')
_CHOICES_RE = re.compile(
    r"(?:can be either|[Cc]urrently,? (?:it )?can be(?: one of)?|currently one of)"
    r'\s+("[^"]*"(?:[^"]*?"[^"]*")*)'
)
_QUOTED_RE = re.compile(r'"([^"]*)"')
_DISCRIMINATORS = frozenset({"type", "status", "source"})
_INT_RE = re.compile(r"-?\d+")
_FLOAT_RE = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_FORM_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}
_VARIATION_SELECTOR = "\ufe0f"


class SpecMissingError(RuntimeError):
    """The spec file is absent while `IPDESK_REQUIRE_SERVICES=1` demands it."""


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request: the spec's `InputFile`."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class FieldSpec:
    name: str
    types: tuple[str, ...]
    required: bool
    const: str | None = None
    choices: frozenset[str] | None = None


@dataclass(frozen=True)
class TypeSpec:
    name: str
    fields: Mapping[str, FieldSpec]
    subtypes: tuple[str, ...] = ()

    @property
    def discriminator(self) -> FieldSpec | None:
        return next((f for f in self.fields.values() if f.const is not None), None)


@dataclass(frozen=True)
class MethodSpec:
    name: str
    params: Mapping[str, FieldSpec]
    returns: tuple[str, ...]


def _field(raw: Mapping[str, Any]) -> FieldSpec:
    description = raw.get("description", "")
    types = tuple(raw["types"])
    const = choices = None
    if raw["name"] in _DISCRIMINATORS and (m := _CONST_RE.search(description)):
        const = m.group(1)
    elif types == ("String",) and (m := _CHOICES_RE.search(description)):
        choices = frozenset(_QUOTED_RE.findall(m.group(1)))
    return FieldSpec(raw["name"], types, bool(raw["required"]), const, choices)


def default_spec_path() -> Path:
    """`$IPDESK_BOTAPI_SPEC`, else `<repo root>/../shared/telegram/bot-api.json`."""
    if env := os.environ.get(SPEC_ENV):
        return Path(env)
    repo_root = Path(__file__).resolve().parent.parent
    return repo_root.parent / "shared" / "telegram" / "bot-api.json"


class Spec:
    """Methods and types of one Bot API version, with request decoding and object checks."""

    def __init__(self, version: str, methods: Iterable[MethodSpec], types: Iterable[TypeSpec]):
        self.version = version
        self.methods: Mapping[str, MethodSpec] = MappingProxyType(
            {m.name.lower(): m for m in methods}
        )
        self.types: Mapping[str, TypeSpec] = MappingProxyType({t.name: t for t in types})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Spec:
        methods = [
            MethodSpec(
                name,
                {f["name"]: _field(f) for f in raw.get("fields", [])},
                tuple(raw.get("returns", [])),
            )
            for name, raw in data["methods"].items()
        ]
        types = [
            TypeSpec(
                name,
                {f["name"]: _field(f) for f in raw.get("fields", [])},
                tuple(raw.get("subtypes", [])),
            )
            for name, raw in data["types"].items()
        ]
        return cls(str(data.get("version", "?")), methods, types)

    @classmethod
    def load(cls, path: Path | None = None) -> Spec | None:
        """The spec at `path` (default: `default_spec_path()`), or None with a loud warning.

        Under `IPDESK_REQUIRE_SERVICES=1` a missing spec raises `SpecMissingError` instead.
        """
        path = (path or default_spec_path()).resolve()
        try:
            return _parse(path, path.stat().st_mtime_ns)
        except FileNotFoundError:
            if os.environ.get(REQUIRE_ENV) == "1":
                raise SpecMissingError(f"Bot API spec not found at {path}") from None
            log.warning(
                "BOT API SPEC NOT FOUND at %s: requests and objects are NOT checked "
                "(set %s to its path)",
                path,
                SPEC_ENV,
            )
            return None

    def method(self, name: str) -> MethodSpec | None:
        return self.methods.get(name.lower())

    # -- requests ---------------------------------------------------------------------------

    def decode_params(
        self,
        method: MethodSpec,
        raw: Mapping[str, Any],
        *,
        form: bool,
        uploads: Mapping[str, Upload] | None = None,
    ) -> tuple[dict[str, Any], list[str]]:
        """Decode a request's parameters by their declared types and check them.

        `form` says the values came from an urlencoded or multipart body (strings, files),
        else from a JSON body. `attach://<name>` strings in InputFile parameters are resolved
        against `uploads`. Returns the decoded parameters and the violations found.
        """
        uploads = uploads or {}
        allowed_extra = NEWER_THAN_SPEC.get(method.name, frozenset())
        decoded: dict[str, Any] = {}
        problems: list[str] = []
        for name, value in raw.items():
            param = method.params.get(name)
            if param is None:
                if name not in allowed_extra:
                    problems.append(f'unknown parameter "{name}"')
                decoded[name] = value
                continue
            value = _decode_top_level(value, param.types, form=form, uploads=uploads)
            decoded[name] = value
            problems.extend(self.check_value(value, param.types, name))
            problems.extend(_check_constraints(param, value, name))
        for param in method.params.values():
            if param.required and param.name not in raw:
                problems.append(f'parameter "{param.name}" is required')
        return decoded, [f"{method.name}: {p}" for p in problems]

    # -- objects ----------------------------------------------------------------------------

    def check_result(self, method: MethodSpec, result: Any) -> list[str]:
        """Check what a method returns against its declared return types."""
        return [f"{method.name}: {p}" for p in self.check_value(result, method.returns, "result")]

    def check_object(self, type_name: str, value: Any) -> list[str]:
        """Check one object (an Update, a Message, ...) against its type."""
        return self.check_value(value, (type_name,), type_name)

    def check_value(self, value: Any, types: Sequence[str], path: str) -> list[str]:
        """Violations of `value` against the union of type expressions `types` ([] if fine)."""
        if len(types) == 1:
            return self._check_one(value, types[0], path)
        if all(expr.startswith(_ARRAY) for expr in types) and isinstance(value, list):
            # The scrape renders "Array of InputMediaAudio, ..., InputMediaPhoto and
            # InputMediaVideo" (sendMediaGroup) as a union of arrays; Telegram means an array
            # of the union (photos and videos mix in one album).
            items = [expr.removeprefix(_ARRAY) for expr in types]
            problems: list[str] = []
            for index, item in enumerate(value):
                problems.extend(self.check_value(item, items, f"{path}[{index}]"))
            return problems
        attempts = [self._check_one(value, expr, path) for expr in types]
        if any(not problems for problems in attempts):
            return []
        best = min(attempts, key=len)
        union = " or ".join(types)
        return [*best, f"{path}: matches none of {union}"]

    def _check_one(self, value: Any, expr: str, path: str) -> list[str]:
        if expr.startswith(_ARRAY):
            return self._check_array(value, expr.removeprefix(_ARRAY), path)
        if expr in _PRIMITIVES:
            return [] if _is_primitive(value, expr) else [_mismatch(path, expr, value)]
        spec = self.types.get(expr)
        if spec is None:
            return [f"{path}: the spec has no type {expr}"]
        if spec.subtypes:
            return self._check_abstract(value, spec, path)
        return self._check_fields(value, spec, path)

    def _check_array(self, value: Any, item_expr: str, path: str) -> list[str]:
        if not isinstance(value, list):
            return [_mismatch(path, _ARRAY + item_expr, value)]
        problems: list[str] = []
        for index, item in enumerate(value):
            problems.extend(self._check_one(item, item_expr, f"{path}[{index}]"))
        return problems

    def _check_abstract(self, value: Any, spec: TypeSpec, path: str) -> list[str]:
        candidates = list(spec.subtypes)
        if isinstance(value, dict):
            matching = [name for name in candidates if self._discriminator_matches(name, value)]
            candidates = matching or candidates
        problems = self.check_value(value, candidates, path)
        if problems and len(candidates) > 1:
            problems[-1] = f"{path}: not a valid {spec.name} ({' or '.join(candidates)})"
        return problems

    def _discriminator_matches(self, type_expr: str, value: Mapping[str, Any]) -> bool:
        spec = self.types.get(type_expr)
        if spec is None:
            return False
        key = spec.discriminator
        return key is not None and value.get(key.name) == key.const

    def _check_fields(self, value: Any, spec: TypeSpec, path: str) -> list[str]:
        if not isinstance(value, dict):
            return [_mismatch(path, spec.name, value)]
        problems: list[str] = []
        beyond = OBJECT_FIELDS_BEYOND_SPEC.get(spec.name, frozenset())
        for name in value:
            if name not in spec.fields and name not in beyond:
                problems.append(f'{path}: unknown field "{name}" in {spec.name}')
        for field in spec.fields.values():
            where = f"{path}.{field.name}"
            if field.name not in value:
                if field.required:
                    problems.append(f'{path}: {spec.name} needs field "{field.name}"')
                continue
            item = value[field.name]
            problems.extend(self.check_value(item, field.types, where))
            problems.extend(_check_constraints(field, item, where))
        return problems


@functools.lru_cache(maxsize=4)
def _parse(path: Path, mtime_ns: int) -> Spec:
    """Parse a spec file once per version of it (a Spec is immutable, so it can be shared)."""
    return Spec.from_json(json.loads(path.read_text(encoding="utf-8")))


def _decode_top_level(
    value: Any, types: Sequence[str], *, form: bool, uploads: Mapping[str, Upload]
) -> Any:
    if isinstance(value, str) and value.startswith("attach://") and "InputFile" in types:
        return uploads.get(value.removeprefix("attach://"), value)
    if not isinstance(value, str):
        return value
    if form:
        return _decode_form_text(value, types)
    if any(_is_structured(t) for t in types) and "String" not in types:
        # Object parameters may be passed JSON-serialized even inside a JSON body.
        return _try_json(value)
    return value


def _decode_form_text(text: str, types: Sequence[str]) -> Any:
    """A form value is always text; read it as the first declared type it fits."""
    for expr in types:
        if expr == "Integer" and _INT_RE.fullmatch(text):
            return int(text)
        if expr == "Float" and _FLOAT_RE.fullmatch(text):
            return float(text)
        if expr == "Boolean" and text.lower() in _FORM_BOOLEANS:
            return _FORM_BOOLEANS[text.lower()]
    if any(_is_structured(t) for t in types):
        decoded = _try_json(text)
        if isinstance(decoded, dict | list) or "String" not in types:
            return decoded
    return text


def _is_structured(expr: str) -> bool:
    return expr.startswith(_ARRAY) or expr not in _PRIMITIVES


def _try_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _is_primitive(value: Any, expr: str) -> bool:
    if expr == "String":
        return isinstance(value, str)
    if expr == "Boolean":
        return isinstance(value, bool)
    if expr == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expr == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, Upload)  # InputFile


def _check_constraints(field: FieldSpec, value: Any, path: str) -> list[str]:
    if field.const is not None and value != field.const:
        return [f'{path}: must be "{field.const}", got {_show(value)}']
    if field.choices and isinstance(value, str):
        normal = value.replace(_VARIATION_SELECTOR, "")
        if normal not in {c.replace(_VARIATION_SELECTOR, "") for c in field.choices}:
            return [f"{path}: {_show(value)} is not one of the documented values"]
    return []


def _mismatch(path: str, expected: str, value: Any) -> str:
    return f"{path}: expected {expected}, got {_show(value)}"


def _show(value: Any) -> str:
    if isinstance(value, Upload):
        return f"an uploaded file ({value.name})"
    text = json.dumps(value, ensure_ascii=False, default=repr)
    kind = type(value).__name__
    return f"{kind} {text[:60]}{'…' if len(text) > 60 else ''}"
