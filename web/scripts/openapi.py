"""Print StoryBang's OpenAPI document (JSON) from the application factory, without any server.

Settings are the embedded development ones with a throwaway data directory: building the app
touches no store, so nothing is created or contacted.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from storybang.api.app import DOMAINS, create_app
from storybang.settings import Settings

with tempfile.TemporaryDirectory() as tmp:
    app = create_app(Settings(env="dev", data_dir=Path(tmp)), DOMAINS)
    json.dump(app.openapi(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
