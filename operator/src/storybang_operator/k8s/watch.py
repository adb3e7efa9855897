"""Metadata-only watches: that an object of a kind changed in a namespace, from the names and
versions the API server sends (PartialObjectMetadata), never the objects' content. The operator
learns that a Secret changed without receiving its data.

Each watch runs in a thread of its own: a list of one item gives the version to start from (the
list is consistent, its version is the namespace's), then a watch follows from there, resumed
from the last version seen when the server ends it (`timeoutSeconds`) or the connection drops
(after a growing pause), and started again from a new list when that version has expired (410
Gone). Who asked is told of every change by name, and after every list that something may have
changed meanwhile (the name is then None).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import urllib3

from storybang_operator import errors
from storybang_operator.k8s.api import Api
from storybang_operator.k8s.paths import Kind

# What the API server sends instead of the objects (`kubectl get --raw` with the same header
# shows it): their metadata only.
METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
# Pauses after a failed list or watch, in turn; the last repeats while the failures last.
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)
GONE = 410
logger = logging.getLogger(__name__)

# (namespace, name): an object changed; (namespace, None): anything may have (a new list).
Changed = Callable[[str, str | None], None]


class Expired(Exception):
    """The version to resume from is gone (410): list again."""


class NamespaceWatch:
    """One kind's metadata in one namespace, until `stop`. `changed` is called from the watch's
    thread."""

    def __init__(
        self,
        api: Api,
        kind: Kind,
        namespace: str,
        changed: Changed,
        *,
        timeout_seconds: int,
        read_timeout_seconds: float,
    ) -> None:
        self._api = api
        self._kind = kind
        self.namespace = namespace
        self._changed = changed
        self._timeout_seconds = timeout_seconds
        self._read_timeout = read_timeout_seconds
        self._stopping = threading.Event()
        self._response: Any = None
        self._thread = threading.Thread(target=self._run, name=f"watch {kind.plural} in {namespace}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """End the watch now: the open response is shut, which ends the thread's read."""
        self._stopping.set()
        response = self._response
        if response is not None:
            with contextlib.suppress(Exception):
                response.shutdown()

    def _run(self) -> None:
        version: str | None = None
        failures = 0
        while not self._stopping.is_set():
            try:
                if version is None:
                    version = self._list_version()
                    self._changed(self.namespace, None)
                version = self._follow(version)
                failures = 0
            except Expired:
                version = None
            except (errors.OperatorError, urllib3.exceptions.HTTPError, OSError, ValueError) as e:
                if self._stopping.is_set():
                    break
                pause = BACKOFF[min(failures, len(BACKOFF) - 1)]
                failures += 1
                logger.warning(
                    "watch of %s in %s failed, again in %ss: %s", self._kind.plural, self.namespace, pause, e
                )
                self._stopping.wait(pause)

    def _list_version(self) -> str:
        return self._api.list_version(self._kind.path(self.namespace), accept=METADATA_LIST)

    def _follow(self, version: str) -> str:
        """Watch from `version` until the server ends the watch; the last version seen."""
        query = [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("resourceVersion", version),
            ("timeoutSeconds", str(self._timeout_seconds)),
        ]
        try:
            response = self._api.stream(
                self._kind.path(self.namespace), query=query, accept=METADATA, read_timeout=self._read_timeout
            )
        except errors.ApiError as e:
            if e.status == GONE:  # answered as a status rather than as an event of the watch
                raise Expired from e
            raise
        if response is None:
            raise errors.ApiError(f"{self._kind.plural} are not served")
        self._response = response
        ended = False
        try:
            if self._stopping.is_set():
                return version
            for event in _events(response):
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == GONE:
                        raise Expired
                    message = f"watch of {self._kind.plural}: {obj.get('message')}"
                    raise errors.ApiError(message, status=int(obj.get("code") or 0))
                meta = obj.get("metadata") or {}
                version = str(meta.get("resourceVersion") or version)
                if kind in ("ADDED", "MODIFIED", "DELETED"):
                    self._changed(self.namespace, str(meta.get("name")))
            ended = True
            return version
        finally:
            self._response = None
            # A connection read to its end serves the next request; one left midway cannot.
            if ended:
                response.release_conn()
            else:
                response.close()


def _events(response: Any) -> Iterator[dict[str, Any]]:
    """The watch's events, one JSON document a line, as they arrive."""
    for line in response:
        if line.strip():
            yield json.loads(line)


class Watches:
    """One `NamespaceWatch` of a kind per namespace asked for: started by `want`, ended by `stop`,
    or by the tidying task (`start`) once `wanted` says a namespace is no longer of interest.
    Event loop only (the watches' own threads call `changed`)."""

    def __init__(
        self,
        api: Api,
        kind: Kind,
        changed: Changed,
        *,
        wanted: Callable[[str], bool],
        timeout_seconds: int,
        read_timeout_seconds: float,
    ) -> None:
        self._api = api
        self._kind = kind
        self._changed = changed
        self._wanted = wanted
        self._timeout_seconds = timeout_seconds
        self._read_timeout = read_timeout_seconds
        self._watches: dict[str, NamespaceWatch] = {}
        self._tidying: asyncio.Task[None] | None = None

    def start(self, tidy_seconds: float) -> None:
        self._tidying = asyncio.create_task(self._tidy(tidy_seconds), name=f"tidy watches of {self._kind.plural}")

    async def _tidy(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            for namespace in sorted(self._watches):
                if not self._wanted(namespace):
                    self.drop(namespace)

    @property
    def namespaces(self) -> set[str]:
        return set(self._watches)

    def want(self, namespace: str) -> None:
        if namespace in self._watches:
            return
        watch = NamespaceWatch(
            self._api,
            self._kind,
            namespace,
            self._changed,
            timeout_seconds=self._timeout_seconds,
            read_timeout_seconds=self._read_timeout,
        )
        self._watches[namespace] = watch
        watch.start()
        logger.info("watching the metadata of %s in %s", self._kind.plural, namespace)

    def drop(self, namespace: str) -> None:
        watch = self._watches.pop(namespace, None)
        if watch is not None:
            watch.stop()
            logger.info("no longer watching %s in %s", self._kind.plural, namespace)

    async def stop(self) -> None:
        if self._tidying is not None:
            self._tidying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tidying
        for namespace in list(self._watches):
            self.drop(namespace)
