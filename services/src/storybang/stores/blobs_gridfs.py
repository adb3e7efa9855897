"""The blob store on MongoDB GridFS (bucket ``images``); the owner is kept in each file's metadata.

Apart from :mod:`storybang.stores.blobs` so that code that only handles a :class:`Blob` (the image
checks, the model server) does not import the MongoDB driver.
"""

from __future__ import annotations

from typing import Any

from gridfs import AsyncGridFSBucket
from pymongo import AsyncMongoClient

from storybang.stores import ids
from storybang.stores.blobs import Blob


class GridFSBlobStore:
    def __init__(self, client: AsyncMongoClient[Any], database: str) -> None:
        self._bucket = AsyncGridFSBucket(client[database], bucket_name="images")
        self._files = client[database]["images.files"]

    async def put(self, data: bytes, *, owner_id: str, content_type: str) -> str:
        blob_id = ids.new_id()
        await self._bucket.upload_from_stream_with_id(
            blob_id, blob_id, data, metadata={"owner_id": owner_id, "content_type": content_type}
        )
        return blob_id

    async def get(self, blob_id: str, *, owner_id: str) -> Blob | None:
        meta = await self._files.find_one({"_id": blob_id, "metadata.owner_id": owner_id})
        if meta is None:
            return None
        stream = await self._bucket.open_download_stream(blob_id)
        data: bytes = await stream.read()
        return Blob(blob_id, owner_id, meta["metadata"]["content_type"], data)

    async def delete(self, blob_id: str, *, owner_id: str) -> bool:
        if await self._files.find_one({"_id": blob_id, "metadata.owner_id": owner_id}) is None:
            return False
        await self._bucket.delete(blob_id)
        return True

    async def delete_owner(self, owner_id: str) -> int:
        count = 0
        async for meta in self._files.find({"metadata.owner_id": owner_id}, {"_id": 1}):
            await self._bucket.delete(meta["_id"])
            count += 1
        return count
