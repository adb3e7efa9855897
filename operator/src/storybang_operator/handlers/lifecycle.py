"""Start-up, login and clean-up: the settings are read, Kopf is configured, the connections are
opened and the one `state.Operator` is put into Kopf's memo, from where every handler (and
Kopf's login) takes it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Any

import kopf
import pydantic

from storybang_operator import k8s, metrics, prometheus, queue, reconcile, resync
from storybang_operator import settings as operator_settings
from storybang_operator.builders import common
from storybang_operator.handlers import kinds, nudges, state
from storybang_operator.settings import OperatorSettings

# How often the Secrets that resources wait for are looked at (one metadata read each).
SECRET_CHECK_SECONDS = 3.0
# How often the listeners for new jobs follow which model servers are asleep (in memory only).
WAKEUP_CHECK_SECONDS = 1.0


def configure_kopf(settings: kopf.OperatorSettings, ours: OperatorSettings) -> None:
    settings.watching.server_timeout = ours.watch_server_timeout_seconds
    settings.watching.client_timeout = ours.watch_client_timeout_seconds
    settings.watching.connect_timeout = ours.watch_connect_timeout_seconds
    settings.peering.standalone = not ours.peering
    settings.peering.mandatory = ours.peering
    settings.peering.name = ours.peering_name
    # Our Deployments and pods only, filtered by the API server: the indexes' own label filter
    # is applied by Kopf after the fact, to every Deployment and pod of the cluster it receives.
    for resource in kinds.LABELLED:
        settings.watching.label_selectors[resource] = common.MANAGED_SELECTOR
    # Kopf's bookkeeping in annotations of our own prefix; the status schema has no room for it.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="operator.storybang.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="operator.storybang.io", key="last-handled-configuration"
    )
    # Only warnings become Events: info-level Events on every pass would be writes too.
    settings.posting.level = logging.WARNING


@kopf.on.startup()
async def start(
    settings: kopf.OperatorSettings,
    memo: kopf.Memo,
    logger: logging.Logger | logging.LoggerAdapter[Any],
    **kwargs: Any,
) -> None:
    """Read the settings, configure Kopf, open the connections and start the resync queue over
    the resources Kopf's indexes know (filled as they are seen). Fails the start when a setting
    is invalid or the profile directory is missing, since every vLLM ModelServer would then
    fail."""
    try:
        ours = operator_settings.load()
    except (pydantic.ValidationError, operator_settings.UnknownSettings) as e:
        # Permanent: Kopf stops, as the process used to when it read them at import.
        raise kopf.PermanentError(f"invalid STORYBANG_OPERATOR_* settings: {e}") from e
    if not ours.profiles_dir.is_dir():
        raise kopf.PermanentError(f"profiles_dir {ours.profiles_dir} is not a directory")
    configure_kopf(settings, ours)
    operator = state.Operator(
        context=reconcile.Context(
            api=k8s.Api.connect(
                kubeconfig=ours.kubeconfig,
                timeout=ours.api_timeout_seconds,
                crd_cache_seconds=ours.keda_check_seconds,
            ),
            queues=queue.QueueReader(timeout=ours.redis_timeout_seconds),
            settings=ours,
            metrics=metrics.Metrics(),
            prometheus=prometheus.PrometheusReader(timeout=ours.prometheus_timeout_seconds),
        ),
        # Kopf passes each index by its id: `platforms`, `domain_services`, ...
        indices={kind: kwargs[kinds.index_id(kind)] for kind in kinds.PLURALS},
    )
    operator.queue = resync.ResyncQueue(
        interval=ours.resync_seconds,
        initial_delay=ours.resync_initial_delay_seconds,
        workers=ours.resync_workers,
        keys=operator.known_keys,
        reconcile=functools.partial(nudges.resync_key, operator),
    )
    operator.context.metrics.watch_queue(lambda: operator.queue.waiting if operator.queue is not None else 0)
    memo[state.MEMO_KEY] = operator
    operator.context.metrics.serve(ours.metrics_port)
    if ours.peering:
        kinds.register_timers(ours)
    else:
        operator.queue.start()
        operator.secrets = asyncio.create_task(nudges.follow_secrets(operator, SECRET_CHECK_SECONDS))
        operator.wakeups = asyncio.create_task(nudges.follow_wakeups(operator, WAKEUP_CHECK_SECONDS))
    logger.info("storybang-operator configured (peering=%s)", ours.peering)


@kopf.on.login()
def login(memo: kopf.Memo, settings: kopf.OperatorSettings, **_: Any) -> kopf.ConnectionInfo:
    """Kopf connects as the operator's own client does (Kopf logs in after the start-up
    handlers), rather than through the client library's process-wide configuration."""
    found = state.of(memo).context.api.credentials()
    return kopf.ConnectionInfo(
        server=found.server,
        ca_path=found.ca_path,
        insecure=found.insecure,
        username=found.username,
        password=found.password,
        scheme=found.scheme,
        token=found.token,
        certificate_path=found.certificate_path,
        private_key_path=found.private_key_path,
        trust_env=settings.networking.trust_env,
    )


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    operator = memo.get(state.MEMO_KEY)
    if isinstance(operator, state.Operator):
        if operator.queue is not None:
            await operator.queue.stop()
        for task in (operator.secrets, operator.wakeups):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        operator.context.metrics.stop()
