"""`storybang inference`: an OpenAI-compatible server on llama.cpp (GGUF text models on a CPU, the
bundled one among them) or transformers (and diffusers for images), and the in-process model of
`storybang dev`.

Needs llama-cpp-python, torch, transformers and diffusers, which the base install leaves out (they
weigh about 3 GB):
``scripts/inference-env.sh`` makes ``.venv-inference`` with them. Importing this package alone pulls
none of them, so the CLI can list the command everywhere; its modules import them.
"""
