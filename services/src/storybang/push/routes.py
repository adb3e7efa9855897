"""Web Push routes: the server's public key, and the caller's browsers subscribed to notifications."""

from __future__ import annotations

from fastapi import status

from storybang.api import problems
from storybang.api.deps import CurrentUser, RuntimeDep
from storybang.api.routing import APIRouter
from storybang.push import service
from storybang.push.models import PushKey, SubscriptionCreate, SubscriptionDelete, SubscriptionList, SubscriptionPublic

router = APIRouter(prefix="/api/v1/push", tags=["push"])
routers = [router]


@router.get("/key")
async def read_key(runtime: RuntimeDep) -> PushKey:
    """The ``applicationServerKey`` to subscribe a browser with (``pushManager.subscribe``)."""
    return PushKey(application_server_key=runtime.push_key.application_server_key)


@router.get("/subscriptions")
async def list_subscriptions(user: CurrentUser, runtime: RuntimeDep) -> SubscriptionList:
    return await service.list_subscriptions(runtime, user.id)


@router.post("/subscriptions", status_code=status.HTTP_201_CREATED, responses=problems.responses(422))
async def subscribe(data: SubscriptionCreate, user: CurrentUser, runtime: RuntimeDep) -> SubscriptionPublic:
    """Notify this browser (a ``PushSubscription.toJSON()``) when one of the caller's jobs ends.
    Subscribing a browser again replaces its old subscription, whoever made it."""
    return await service.subscribe(runtime, user.id, data)


@router.delete("/subscriptions", status_code=status.HTTP_204_NO_CONTENT)
async def unsubscribe(data: SubscriptionDelete, user: CurrentUser, runtime: RuntimeDep) -> None:
    """Stop notifying the browser at ``endpoint``; answered the same whether it was subscribed or not."""
    await service.unsubscribe(runtime, user.id, data.endpoint)
