"""Kopf handlers: decorators, a plain reconcile call, status and retry intent. Nothing else.

Every kind has one handler for changes (create, update, resume), run by Kopf, and is reconciled
again by the resync queue (`resync.py`): every `resync_seconds`, which repairs drift and recreates
a child deleted by hand; at once when one of its Deployments or their pods changes in a way its
status does not show yet, so that Ready follows the pods within moments; at once when the
Platform or ModelServer it waits for has been reconciled; and within seconds of a change of a
Secret it waits for (each such Secret is read by name, metadata only, every few seconds). A pass
over a converged resource writes nothing (children are compared with a dry-run apply; the status
is patched only where it differs).

The resync queue takes the place of Kopf timers, which would put a finalizer on every resource
and so keep resources (and their namespaces) from being deleted while the operator is down.
With more than one replica, Kopf peering decides which one works, and only Kopf's own handlers
know when they are paused: the periodic pass is then a Kopf timer again (finalizer included).

The modules, outermost first: `lifecycle` (start-up and clean-up: the settings, the connections
and the one `state.Operator` every handler receives through Kopf's memo) and `kinds` (the
registrations) → `passes` (one pass and its retry intent) and `nudges` (who to reconcile now)
→ `state`. Importing this package registers every handler with Kopf.
"""

from storybang_operator.handlers import kinds as kinds
from storybang_operator.handlers import lifecycle as lifecycle
