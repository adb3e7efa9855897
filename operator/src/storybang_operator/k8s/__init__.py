"""The only package of ours that talks to the Kubernetes API (Kopf itself watches the custom
resources, patches their status and posts their Events): `api.py` makes the requests, `paths.py`
says where each kind lives.

Children are written with server-side apply under one field manager, `storybang-operator`, with
force=True: the operator owns the fields it renders and takes them back from anyone who edited
them by hand. Before writing, it asks the API server what an apply would produce (a dry run) and
compares that with what is live, so a pass over a converged resource only reads.

Failures become the operator's errors: 400/422 (the server rejects what the spec rendered) are
`InvalidSpec`; a 403 from an admission webhook or policy is `Denied`, other 401/403 are
`Forbidden` (RBAC); anything else, including a lost connection, is `ApiError`.
"""

from storybang_operator.k8s.api import Api as Api
from storybang_operator.k8s.api import Credentials as Credentials
from storybang_operator.k8s.api import refused_secrets as refused_secrets
from storybang_operator.k8s.paths import KINDS as KINDS
from storybang_operator.k8s.paths import Kind as Kind
from storybang_operator.k8s.paths import kind_of as kind_of
from storybang_operator.k8s.ssa import FIELD_MANAGER as FIELD_MANAGER
from storybang_operator.k8s.ssa import HANDOVER_MANAGER as HANDOVER_MANAGER
from storybang_operator.k8s.ssa import comparable as comparable
from storybang_operator.k8s.ssa import hands_over_replicas as hands_over_replicas
