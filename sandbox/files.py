"""Stored files and the media objects (PhotoSize, Document, Video, ...) that describe them."""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

THUMBNAIL_SIDE = 90
_DEFAULT_SIZE = (512, 512)


class FileKind(StrEnum):
    """What a file is sent as; each value is also the name of its Message field."""

    PHOTO = "photo"
    DOCUMENT = "document"
    VIDEO = "video"
    VOICE = "voice"
    AUDIO = "audio"
    ANIMATION = "animation"
    STICKER = "sticker"


_FOLDERS = {
    FileKind.PHOTO: ("photos", ".jpg"),
    FileKind.DOCUMENT: ("documents", ""),
    FileKind.VIDEO: ("videos", ".mp4"),
    FileKind.VOICE: ("voice", ".oga"),
    FileKind.AUDIO: ("music", ".mp3"),
    FileKind.ANIMATION: ("animations", ".mp4"),
    FileKind.STICKER: ("stickers", ".webp"),
}


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: FileKind
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0

    def to_api(self) -> dict[str, Any]:
        """The Bot API `File` object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class FileStore:
    files: dict[str, StoredFile] = field(default_factory=dict)
    paths: dict[str, StoredFile] = field(default_factory=dict)
    photo_sets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(
        self,
        kind: FileKind,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        folder, default_ext = _FOLDERS.get(kind, ("documents", ""))
        number = len(self.files) + 1
        # Telegram re-encodes photos as JPEG; other files keep their extension.
        ext = default_ext if kind == FileKind.PHOTO else _extension(file_name) or default_ext
        width, height = image_size(data) or (_DEFAULT_SIZE if kind == FileKind.PHOTO else (0, 0))
        stored = StoredFile(
            file_id=f"{kind[:2].upper()}{secrets.token_urlsafe(30)}",
            file_unique_id=f"AQAD{secrets.token_urlsafe(9)}",
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{number}{ext}",
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self.files[stored.file_id] = stored
        self.paths[stored.file_path] = stored
        return stored

    def photo_sizes(self, original: StoredFile) -> list[dict[str, Any]]:
        """The PhotoSize list of a photo, made once per file so file_ids stay stable."""
        if original.file_id not in self.photo_sets:
            self.photo_sets[original.file_id] = photo_sizes(self, original)
        return self.photo_sets[original.file_id]

    def get(self, file_id: str) -> StoredFile | None:
        return self.files.get(file_id)

    def by_path(self, path: str) -> StoredFile | None:
        return self.paths.get(path)


def _extension(file_name: str | None) -> str:
    if not file_name or "." not in file_name:
        return ""
    return "." + file_name.rsplit(".", 1)[1][:8]


# -- media objects ------------------------------------------------------------------------------


def photo_size(stored: StoredFile, width: int, height: int) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
        "width": width,
        "height": height,
    }


def photo_sizes(store: FileStore, original: StoredFile) -> list[dict[str, Any]]:
    """Sizes from smallest to largest, as Telegram lists them: a thumbnail, then the original.

    The thumbnail holds the same bytes (nothing is resized), but has its own file_id, so a
    bot that picks `photo[0]` instead of `photo[-1]` is visibly handling a different file.
    """
    width, height = original.width, original.height
    sizes = []
    if max(width, height) > THUMBNAIL_SIDE:
        scale = THUMBNAIL_SIDE / max(width, height)
        thumb = store.add(FileKind.PHOTO, original.data, mime_type=original.mime_type)
        sizes.append(photo_size(thumb, max(1, round(width * scale)), max(1, round(height * scale))))
    sizes.append(photo_size(original, width, height))
    return sizes


def media_object(stored: StoredFile) -> dict[str, Any]:
    """The Document / Video / Voice / Audio / Animation / Sticker object for a stored file."""
    base: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
    }
    if stored.kind == FileKind.STICKER:
        return {
            **base,
            "type": "regular",
            "width": stored.width or 512,
            "height": stored.height or 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
    if stored.kind in (FileKind.VIDEO, FileKind.ANIMATION):
        base.update(width=stored.width or 640, height=stored.height or 360, duration=1)
    elif stored.kind in (FileKind.VOICE, FileKind.AUDIO):
        base["duration"] = 1
    if stored.file_name and stored.kind != FileKind.VOICE:
        base["file_name"] = stored.file_name
    if stored.mime_type:
        base["mime_type"] = stored.mime_type
    return base


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF, JPEG or WebP image, read from its header."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:16] == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None
