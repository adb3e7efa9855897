"""The API's routers route exactly as FastAPI's do, however many routers come before a route, and
a request under another prefix passes a router without trying its routes; the index of fixed paths
chooses the route FastAPI would."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from starlette.routing import Match

from storybang.api import routing
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


def shadowing_router() -> APIRouter:
    """A fixed path (``/special``) that a route with a parameter, declared first, takes for GET."""
    router = APIRouter(prefix="/api/v1/shadow")

    @router.get("/{item_id}")
    async def item(item_id: str) -> str:
        return f"item {item_id}"

    @router.get("/special")
    async def special_get() -> str:
        return "never: /{item_id} comes first"

    @router.post("/special")
    async def special_post() -> str:
        return "special"

    return router


def indexed_app(*, index: bool) -> FastAPI:
    app = FastAPI()
    included = [*routers(), shadowing_router()]
    for router in included:
        app.include_router(router)

    @app.get("/own")
    async def own() -> str:
        return "the app's own"

    if index:
        routing.index_fixed_paths(app, included)
    return app


REQUESTS = [
    ("GET", "/api/v1/first"),
    ("GET", "/api/v1/second"),
    ("POST", "/api/v1/second"),  # 405: the path is a route's, the method is not
    ("GET", "/api/v1/second/7"),
    ("POST", "/api/v1/second/7/things/"),
    ("POST", "/api/v1/second/7/things"),  # the trailing-slash redirect
    ("GET", "/api/v1/shadow/special"),
    ("POST", "/api/v1/shadow/special"),
    ("GET", "/own"),
    ("GET", "/api/v1/third"),
]


async def test_the_index_of_fixed_paths_chooses_what_fastapi_chooses() -> None:
    answers = []
    for app in (indexed_app(index=False), indexed_app(index=True)):
        async with client_for(app) as client:
            answers.append(
                [
                    (r.status_code, r.headers.get("location"), r.content)
                    for method, path in REQUESTS
                    for r in [await client.request(method, path, follow_redirects=False)]
                ]
            )
    assert answers[0] == answers[1]
    assert answers[1][6] == (200, None, b'"item special"')  # the route declared first, as FastAPI does
    assert answers[1][7] == (200, None, b'"special"')


def test_the_index_holds_fixed_paths_only_and_none_an_earlier_route_takes() -> None:
    index = indexed_app(index=True).router.routes[0]
    assert isinstance(index, routing.FixedPaths)
    assert sorted(index.routes) == [
        ("/api/v1/first", "GET"),
        ("/api/v1/second", "GET"),
        ("/api/v1/shadow/special", "POST"),
        ("/own", "GET"),
    ]
    match, child = index.matches({"type": "http", "path": "/api/v1/second", "method": "GET", "root_path": ""})
    assert match == Match.FULL
    assert child["route"].path == "/api/v1/second"
    # Under a proxy's root path, FastAPI strips the prefix itself: the index leaves it the request.
    under_root = {"type": "http", "path": "/sb/api/v1/second", "method": "GET", "root_path": "/sb"}
    assert index.matches(under_root)[0] == Match.NONE


async def test_nothing_after_a_router_included_with_settings_of_its_own_is_indexed() -> None:
    app = FastAPI()
    first, second = routers()
    app.include_router(first)
    app.include_router(second, prefix="/v2")  # its routes' paths are not those the router holds
    routing.index_fixed_paths(app, [first])

    @app.get("/api/v1/after")
    async def after() -> str:
        return "after"

    index = app.router.routes[0]
    assert isinstance(index, routing.FixedPaths)
    assert sorted(index.routes) == [("/api/v1/first", "GET")]
    async with client_for(app) as client:
        assert (await client.get("/v2/api/v1/second")).json() == "second"
        assert (await client.get("/api/v1/second")).status_code == 404


async def test_the_apps_most_frequent_reads_are_found_in_the_index(app: FastAPI) -> None:
    index = app.router.routes[0]
    assert isinstance(index, routing.FixedPaths)
    for key in [("/api/v1/characters", "GET"), ("/api/v1/stories", "GET"), ("/api/v1/generations", "POST")]:
        assert key in index.routes
    assert ("/api/v1/characters/{character_id}", "GET") not in index.routes
