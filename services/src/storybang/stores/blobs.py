"""The blob store for images: MongoDB GridFS (:mod:`storybang.stores.blobs_gridfs`), or a directory
in the embedded default.

Blobs belong to an owner; reading one needs the owner's id, so a blob of another user is simply
not found. Images never travel base64-encoded inside a document.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from storybang.stores import ids


@dataclass(frozen=True)
class Blob:
    id: str
    owner_id: str
    content_type: str
    data: bytes


class BlobStore(Protocol):
    async def put(self, data: bytes, *, owner_id: str, content_type: str) -> str: ...

    async def get(self, blob_id: str, *, owner_id: str) -> Blob | None: ...

    async def delete(self, blob_id: str, *, owner_id: str) -> bool: ...

    async def delete_owner(self, owner_id: str) -> int: ...


class DirectoryBlobStore:
    """``<root>/<owner_id>/<blob_id>`` plus a ``.json`` beside it with the content type."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, owner_id: str, blob_id: str) -> Path:
        if not ids.is_valid(blob_id) or not owner_id.isalnum():
            return self._root / "-missing-"
        return self._root / owner_id / blob_id

    async def put(self, data: bytes, *, owner_id: str, content_type: str) -> str:
        blob_id = ids.new_id()
        path = self._path(owner_id, blob_id)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.with_suffix(".json").write_text(json.dumps({"content_type": content_type}))
            path.write_bytes(data)

        await asyncio.to_thread(write)
        return blob_id

    async def get(self, blob_id: str, *, owner_id: str) -> Blob | None:
        path = self._path(owner_id, blob_id)

        def read() -> Blob | None:
            try:
                meta = json.loads(path.with_suffix(".json").read_text())
                return Blob(blob_id, owner_id, meta["content_type"], path.read_bytes())
            except FileNotFoundError:
                return None

        return await asyncio.to_thread(read)

    async def delete(self, blob_id: str, *, owner_id: str) -> bool:
        path = self._path(owner_id, blob_id)

        def remove() -> bool:
            found = path.exists()
            path.unlink(missing_ok=True)
            path.with_suffix(".json").unlink(missing_ok=True)
            return found

        return await asyncio.to_thread(remove)

    async def delete_owner(self, owner_id: str) -> int:
        folder = self._root / owner_id
        if not owner_id.isalnum() or not folder.is_dir():
            return 0
        count = sum(1 for p in folder.iterdir() if p.suffix != ".json")
        await asyncio.to_thread(shutil.rmtree, folder)
        return count
