"""The API's routing: FastAPI's, with two shortcuts that choose the same route it would.

1. ``APIRouter`` is passed over at once by a request under another prefix. FastAPI keeps each
   included router as a branch of the app's router and, for every request, asks each branch in turn
   whether one of its routes matches, trying the path against every route of the branch. A request
   for the domain included last paid for every route of the domains before it (identity's twenty
   routes cost a characters read a sixth of its CPU time, bench/api.py). Every route of a router has
   the router's prefix in its path, after whatever prefix the router was included under, so a path
   that does not contain the prefix matches none of them: this router says so with one substring
   test, and routes the rest exactly as FastAPI does.
2. :func:`index_fixed_paths` finds a route of a fixed path (``GET /api/v1/characters``, not
   ``/api/v1/characters/{character_id}``) with one dictionary lookup. A request FastAPI routes into
   an included router is matched twice (once to choose the branch, once inside it), each time with
   the bookkeeping of its branches; for the app's most frequent read that came to a fifth of the
   request's CPU time. Paths with parameters, other methods and everything else go on to FastAPI.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import fastapi
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send


class APIRouter(fastapi.APIRouter):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # A prefix with a path parameter ({tenant}) is a pattern, not text a path contains.
        if self.prefix and "{" not in self.prefix and self.prefix not in scope["path"]:
            return Match.NONE, {}
        return super().matches(scope)


class FixedPaths(BaseRoute):
    """The routes of fixed paths, by (path, method): a match is one lookup, and the route found is
    handled as a route of the app's own."""

    def __init__(self, routes: Mapping[tuple[str, str], APIRoute]) -> None:
        self.routes = dict(routes)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # Under a root path (a proxy's prefix) FastAPI strips it first: left to FastAPI.
        if scope["type"] == "http" and not scope.get("root_path"):
            route = self.routes.get((scope["path"], scope["method"]))
            if route is not None:
                return Match.FULL, {"endpoint": route.endpoint, "path_params": {}, "route": route}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: APIRoute = scope["route"]
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)  # the routes themselves answer for their URLs


def index_fixed_paths(app: fastapi.FastAPI, included: Iterable[fastapi.APIRouter]) -> None:
    """Put in front of ``app``'s routes an index of its routes of fixed paths, the app's own and
    those of ``included``, routers the app included as they are (``include_router(router)``, no
    prefix, dependencies or other settings added at inclusion: their routes then behave exactly as
    the branch FastAPI makes of them). A route is indexed for a method only when no route before it
    takes that path and method, so the index chooses what FastAPI's walk would. Call it once every
    route is in place."""
    walk = list(_walk(app.router.routes, {id(router) for router in included}))
    index: dict[tuple[str, str], APIRoute] = {}
    for position, route in enumerate(walk):
        if not isinstance(route, APIRoute) or route.param_convertors:
            continue
        for method in route.methods or ():
            probe = {"type": "http", "path": route.path, "root_path": "", "method": method}
            if not any(earlier.matches(probe)[0] == Match.FULL for earlier in walk[:position]):
                index[route.path, method] = route
    app.router.routes.insert(0, FixedPaths(index))


def _walk(routes: Iterable[BaseRoute], plain: set[int]) -> Iterator[BaseRoute]:
    """``routes`` in the order FastAPI tries them, the branches of ``plain`` routers opened. It
    stops at any other branch (a router included with settings of its own, or within another):
    what that takes is for FastAPI to say, so nothing after it is indexed."""
    for route in routes:
        branch = getattr(route, "original_router", None)  # FastAPI's branch for an included router
        if branch is None:
            yield route
        elif id(branch) in plain:
            for inner in branch.routes:
                if getattr(inner, "original_router", None) is not None:
                    return
                yield inner
        else:
            return
