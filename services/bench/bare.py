"""The baseline: a bare FastAPI endpoint returning 20 items, served with the same uvicorn settings."""

from fastapi import FastAPI

app = FastAPI()
ITEMS = [
    {"id": f"{i:024x}", "name": f"Character {i}", "description": "A brave little fox who loves maps.", "tags": ["fox"]}
    for i in range(20)
]


@app.get("/items")
async def items() -> dict[str, object]:
    return {"items": ITEMS, "next_cursor": None}
