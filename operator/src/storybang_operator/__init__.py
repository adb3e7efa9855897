"""StoryBang's Kubernetes operator: `kopf run -m storybang_operator`.

Importing the package registers the handlers with Kopf. The layers, outermost first:
handlers (Kopf) → reconcile → builders (pure) | k8s (Kubernetes API) | queue (Redis).
"""

from storybang_operator import handlers as handlers
