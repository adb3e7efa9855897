"""`storybang inference`: an OpenAI-compatible server on transformers, and the in-process model of
`storybang dev`.

Needs torch and transformers, which the base install leaves out (they weigh about 3 GB):
``scripts/inference-env.sh`` makes ``.venv-inference`` with them. Importing this package alone pulls
neither, so the CLI can list the command everywhere; its modules import them.
"""
