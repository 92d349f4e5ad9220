"""POST a JSON body and translate what happens into success or a DeliveryError.

Shared by the webhook and the SMS gateway adapter. Status codes are classified by a table:
2xx delivered; 408, 425, 429 and 5xx are worth retrying; any other answer (3xx, 4xx) says the
request itself is wrong and will stay wrong. Redirects are not followed: a POST that is
redirected is a misconfigured URL, not a delivery.

>>> classify(201) is None, classify(503).permanent, classify(400).permanent
(True, False, True)
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from alerts.delivery_errors import DeliveryError

_RETRYABLE = frozenset({408, 425, 429})
_DETAIL_CHARS = 200  # enough of the response body to see a gateway's reason, not a whole page


def classify(status: int, *, what: str = "receiver", detail: str = "") -> DeliveryError | None:
    """None for success, else the DeliveryError that status means."""
    if 200 <= status < 300:
        return None
    reason = f"HTTP {status} from {what}" + (f": {detail}" if detail else "")
    return DeliveryError(reason, permanent=not (status >= 500 or status in _RETRYABLE))


async def post_json(url: str, body: bytes, *, headers: Mapping[str, str], timeout: float,
                    what: str) -> None:
    """POST ``body`` (JSON bytes) to ``url``; raises DeliveryError unless answered 2xx.

    Error reasons name ``what`` (say, "SMS gateway"), never the URL or headers: those may hold
    tokens.
    """
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.post(
                url, content=body, headers={"Content-Type": "application/json", **headers})
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as err:
        raise DeliveryError(f"{what} URL is invalid", permanent=True) from err
    except httpx.TimeoutException as err:
        raise DeliveryError(f"{what} timed out", permanent=False) from err
    except httpx.HTTPError as err:
        raise DeliveryError(f"{what} unreachable ({type(err).__name__})", permanent=False) from err
    error = classify(response.status_code, what=what,
                     detail=response.text[:_DETAIL_CHARS].strip())
    if error is not None:
        raise error
