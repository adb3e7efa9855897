"""What every StoryBang test suite shares (services, operator, chart, end-to-end), kept once.

- `storybang_testing.waiting`: `eventually` and `free_port`
- `storybang_testing.processes`: servers as processes: started, waited for until they answer, stopped
- `storybang_testing.redis`: a throwaway `redis-server` of a test's own
- `storybang_testing.kube`: kwok's fake nodes and kubeconfigs that authenticate as a ServiceAccount
- `storybang_testing.crd_schema`: what the API server does with a custom resource, without one
- `storybang_testing.pod_security`: the Pod Security Standards as checks on a pod spec

Installed into .venv and .venv-inference from the workspace (a member of the root pyproject.toml);
nothing here imports StoryBang itself.
"""
