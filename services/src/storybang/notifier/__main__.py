"""``python -m storybang.notifier``: the notifier alone, same as ``storybang notifier``."""

from storybang.notifier.cli import notifier

notifier()
