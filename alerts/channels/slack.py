"""The Slack channel: Block Kit messages to an incoming webhook (httpx, synchronous).

429: wait as Retry-After says, within the run, while the total wait stays under ``max_wait``;
otherwise the digest stays pending with that delay. 5xx and network errors: a few quick retries,
then pending with backoff. Other 4xx: Slack refused the message or the webhook (revoked, archived
channel); retrying will not help, so the error is reported as permanent (the digest still stays
pending, so fixing the webhook and re-running delivers it). A webhook has no idempotency key:
a digest that failed midway is re-sent from its first message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from alerts.channels.options import OptionReader
from alerts.digest import Digest
from alerts.render_slack import Payload, render_slack
from alerts.wording import clean
from storage.errors import DeliveryError

SLACK_OPTIONS = {"webhook_url", "username", "channel", "timeout", "max_wait", "min_interval",
                 "retries", "retry_delay"}
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(float(response.headers.get("retry-after", "1")), 0.0)
    except ValueError:
        return 1.0


class SlackChannel:
    def __init__(self, name: str, webhook_url: str, *, timeout: float = 15.0,
                 max_wait: float = 60.0, min_interval: float = 1.0, retries: int = 2,
                 retry_delay: float = 2.0, username: str | None = None,
                 channel: str | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.name = name
        # Legacy webhooks honour these overrides; app webhooks ignore them.
        self.overrides = {k: v for k, v in (("username", username), ("channel", channel)) if v}
        self._url = webhook_url          # a secret: never logged, never in an error message
        self.timeout = timeout
        self.max_wait = max_wait
        self.min_interval = min_interval
        self.retries = retries
        self.retry_delay = retry_delay
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"SlackChannel(name={self.name!r})"

    @classmethod
    def from_options(cls, name: str, options: Mapping[str, Any],
                     problems: list[str]) -> SlackChannel:
        reader = OptionReader(name, options, problems=problems)
        url = reader.string("webhook_url", required=True) or ""
        parts = urlsplit(url)
        plain_ok = parts.scheme == "http" and parts.hostname in _LOOPBACK   # test emulators
        if url and not ((parts.scheme == "https" and parts.hostname) or plain_ok):
            reader.problem("webhook_url", "must be an https:// URL (Slack's incoming webhook)")
        return cls(name, url, timeout=reader.number("timeout", 15.0, minimum=1),
                   max_wait=reader.number("max_wait", 60.0),
                   min_interval=reader.number("min_interval", 1.0),
                   retries=reader.integer("retries", 2, low=0, high=10) or 0,
                   retry_delay=reader.number("retry_delay", 2.0),
                   username=reader.string("username"), channel=reader.string("channel"))

    def send(self, digest: Digest, *, message_id: str) -> str | None:
        payloads = render_slack(digest)
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
            budget = [self.max_wait]
            for number, payload in enumerate(payloads, start=1):
                if number > 1 and self.min_interval:
                    self._sleep(self.min_interval)   # Slack allows about one message a second
                try:
                    self._post(client, {**self.overrides, **payload}, budget)
                except DeliveryError as exc:
                    if len(payloads) > 1:
                        exc.args = (f"{exc} (message {number} of {len(payloads)})",)
                    raise
        return None

    def _attempt(self, client: httpx.Client, payload: Payload) -> DeliveryError | None:
        try:
            response = client.post(self._url, json=payload)
        except httpx.HTTPError as exc:
            return self._network_error(exc)
        return None if response.status_code == 200 else self._refusal(response)

    def _post(self, client: httpx.Client, payload: Payload, budget: list[float]) -> None:
        """Post one message, waiting out 429s and retrying 5xx within the run's wait budget."""
        failures = 0
        while (error := self._attempt(client, payload)) is not None:
            if error.permanent:
                raise error
            if error.retry_after is not None:          # 429: only the budget bounds it
                delay = error.retry_after
                if delay > budget[0]:
                    raise DeliveryError(f"{error}; waiting {delay:g} s would exceed the "
                                        f"{self.max_wait:g} s allowed in one run",
                                        retry_after=delay)
            else:
                failures += 1
                delay = self.retry_delay * 2 ** (failures - 1)
                if failures > self.retries or delay > budget[0]:
                    raise error
            budget[0] -= delay
            self._sleep(delay)

    def _network_error(self, exc: httpx.HTTPError) -> DeliveryError:
        if isinstance(exc, httpx.TimeoutException):
            return DeliveryError(f"Slack did not answer within {self.timeout:g} s")
        if isinstance(exc, httpx.ConnectError):
            return DeliveryError("could not connect to Slack: "
                                 f"{clean(str(exc), 200) or 'connection failed'}")
        return DeliveryError(f"talking to Slack failed: {exc.__class__.__name__}")

    def _refusal(self, response: httpx.Response) -> DeliveryError:
        status = response.status_code
        body = clean(response.text, 200)
        reason = f"HTTP {status} {response.reason_phrase}".strip()
        if body:
            reason += f": {body}"
        if status == 429:
            return DeliveryError(f"Slack rate limit ({reason})", retry_after=_retry_after(response))
        if status >= 500:
            return DeliveryError(f"Slack is failing ({reason})")
        return DeliveryError(f"Slack refused the message ({reason}); check webhook_url",
                             permanent=True)
