"""The Slack channel: Block Kit messages to an incoming webhook (httpx, synchronous).

429: wait as Retry-After says, within the run, while the total wait stays under ``max_wait``;
otherwise the digest stays pending with that delay. 5xx and network errors: a few quick retries,
then pending with backoff. 400: Slack refused this message (MessageRefused). Other 4xx: Slack
refused the webhook (revoked, archived channel). Neither will pass on a retry: after a few
attempts the digest is marked failed (alerts.delivery), so it never holds up newer ones. A
webhook has no idempotency key: a digest that failed midway is re-sent from its first message.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from alerts.channels.base import MessageRefused
from alerts.config import SlackSettings
from alerts.digest import Digest, fit
from alerts.render_slack import Payload, render_slack
from alerts.wording import clean
from storage.errors import DeliveryError


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(float(response.headers.get("retry-after", "1")), 0.0)
    except ValueError:
        return 1.0


class SlackChannel:
    def __init__(self, name: str, settings: SlackSettings,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.name = name
        self.overrides = {k: v for k, v in (("username", settings.username),
                                            ("channel", settings.channel)) if v}
        self._url = settings.webhook_url   # a secret: never logged, never in an error message
        self.timeout = settings.timeout.total_seconds()
        self.max_wait = settings.max_wait.total_seconds()
        self.min_interval = settings.min_interval.total_seconds()
        self.retries = settings.retries
        self.retry_delay = settings.retry_delay.total_seconds()
        self.max_messages = settings.max_messages
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"SlackChannel(name={self.name!r})"

    def send(self, digest: Digest, *, message_id: str) -> str | None:
        # At most max_messages posts: a flood becomes a few posts that say what they left out.
        payloads = fit(digest, render_slack, len, self.max_messages)
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
        except httpx.InvalidURL:     # the URL is a secret: not repeated
            return DeliveryError("httpx cannot use the webhook URL; check webhook_url",
                                 permanent=True)
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
        if status == 400:     # invalid_blocks, msg_too_long, invalid_payload: this message
            return MessageRefused(f"Slack refused the message ({reason})")
        return DeliveryError(f"Slack refused the message ({reason}); check webhook_url",
                             permanent=True)
