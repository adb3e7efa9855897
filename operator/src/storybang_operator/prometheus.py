"""The only module that talks to Prometheus: one instant query at a time, over its HTTP API.

The figures a Platform's Prometheus already has (job durations from the workers, waiting requests
and tokens from the model servers) are read from it rather than from every pod: one request per
resource and pass, and the same numbers the dashboards show. The standard library's client is
enough for one GET with a JSON answer.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from storybang_operator import errors


class PrometheusReader:
    def __init__(self, *, timeout: float) -> None:
        self._timeout = timeout

    def scalar(self, address: str, query: str) -> float | None:
        """The value of `query`, which must sum to one series; None when it has no data (no
        series, or NaN: a quantile of nothing)."""
        url = f"{address.rstrip('/')}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
        try:
            with urllib.request.urlopen(url, timeout=self._timeout) as response:  # noqa: S310 - http(s) by the CRD's pattern
                body: dict[str, Any] = json.load(response)
        except urllib.error.HTTPError as e:
            # A 4xx is Prometheus refusing the query: say what it said.
            raise errors.ApiError(f"Prometheus at {address}: {_error_of(e)}", reason="PrometheusUnavailable") from e
        except (OSError, ValueError) as e:
            raise errors.ApiError(f"Prometheus at {address}: {e}", reason="PrometheusUnavailable") from e
        result = body.get("data", {}).get("result", [])
        if not result:
            return None
        if len(result) > 1:
            raise errors.ApiError(f"{query} returned {len(result)} series, not one", reason="PrometheusUnavailable")
        value = float(result[0]["value"][1])
        return None if math.isnan(value) or math.isinf(value) else value


def _error_of(e: urllib.error.HTTPError) -> str:
    try:
        return str(json.load(e).get("error", e))
    except (ValueError, OSError):
        return str(e)
