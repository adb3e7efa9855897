"""Document ids: ObjectId hex strings in both backends, so ids sort by creation time everywhere."""

from bson import ObjectId


def new_id() -> str:
    return str(ObjectId())


def is_valid(value: str) -> bool:
    return ObjectId.is_valid(value) and len(value) == 24 and value == value.lower()
