"""The API's routers route exactly as FastAPI's do, however many routers come before a route, and
a request under another prefix passes a router without trying its routes."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from storybang.api.routing import APIRouter


def routers() -> tuple[APIRouter, APIRouter]:
    first = APIRouter(prefix="/api/v1/first")
    second = APIRouter(prefix="/api/v1/second")

    @first.get("")
    async def first_list() -> str:
        return "first"

    @second.get("")
    async def second_list() -> str:
        return "second"

    @second.get("/{item_id}")
    async def second_item(item_id: str) -> str:
        return f"second {item_id}"

    @second.post("/{item_id}/things/")
    async def second_things(item_id: str) -> str:
        return f"things of {item_id}"

    return first, second


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_each_route_is_reached_whichever_router_holds_it() -> None:
    app = FastAPI()
    for router in routers():
        app.include_router(router)
    async with client_for(app) as client:
        assert (await client.get("/api/v1/first")).json() == "first"
        assert (await client.get("/api/v1/second")).json() == "second"
        assert (await client.get("/api/v1/second/7")).json() == "second 7"
        assert (await client.post("/api/v1/second/7/things/")).json() == "things of 7"
        assert (await client.get("/api/v1/third")).status_code == 404
        assert (await client.get("/api/v1/second/7/things/")).status_code == 405  # the path is a route's
        redirect = await client.post("/api/v1/second/7/things", follow_redirects=False)
        assert redirect.status_code == 307  # FastAPI's trailing-slash redirect
        assert redirect.headers["location"].endswith("/api/v1/second/7/things/")


async def test_a_router_included_under_a_further_prefix_routes_there() -> None:
    app, outer = FastAPI(), APIRouter(prefix="/outer")
    first, second = routers()
    outer.include_router(second)
    app.include_router(first, prefix="/v2")
    app.include_router(outer)
    async with client_for(app) as client:
        assert (await client.get("/v2/api/v1/first")).json() == "first"
        assert (await client.get("/outer/api/v1/second/7")).json() == "second 7"
        assert (await client.get("/api/v1/first")).status_code == 404
