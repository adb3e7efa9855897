"""The API's routers: FastAPI's ``APIRouter``, passed over at once by a request under another prefix.

FastAPI keeps each included router as a branch of the app's router and, for every request, asks
each branch in turn whether one of its routes matches, trying the path against every route of the
branch. A request for the domain included last paid for every route of the domains before it
(identity's twenty routes cost a characters read a sixth of its CPU time, bench/api.py). Every
route of a router has the router's prefix in its path, after whatever prefix the router was
included under, so a path that does not contain the prefix matches none of them: this router says
so with one substring test, and routes the rest exactly as FastAPI does.
"""

from __future__ import annotations

import fastapi
from starlette.routing import Match
from starlette.types import Scope


class APIRouter(fastapi.APIRouter):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # A prefix with a path parameter ({tenant}) is a pattern, not text a path contains.
        if self.prefix and "{" not in self.prefix and self.prefix not in scope["path"]:
            return Match.NONE, {}
        return super().matches(scope)
