"""Builds the platform clients the poller needs from credentials, for the composition root.

Only platforms whose credentials are present get a client; an account on any other platform
polls as ``unsupported`` instead of failing. Reading the credentials from the environment
is the composition root's job (``chalicelib/settings.py``), not this module's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.adapters.platforms.bluesky import APPVIEW_BASE, BlueskyClient
from chalicelib.adapters.platforms.facebook import API_BASE as GRAPH_BASE
from chalicelib.adapters.platforms.facebook import FacebookPageClient
from chalicelib.adapters.platforms.http import HttpTransport
from chalicelib.adapters.platforms.mastodon import MastodonClient
from chalicelib.adapters.platforms.rss import FeedClient
from chalicelib.adapters.platforms.telegram import API_BASE as TELEGRAM_BASE
from chalicelib.adapters.platforms.telegram import TelegramBotClient
from chalicelib.adapters.platforms.x import API_BASE as X_BASE
from chalicelib.adapters.platforms.x import XClient
from chalicelib.adapters.platforms.youtube import API_BASE as YOUTUBE_BASE
from chalicelib.adapters.platforms.youtube import YouTubeClient
from chalicelib.services.polling import PlatformClient


@dataclass(frozen=True)
class PlatformCredentials:
    """Secrets and endpoints per platform; empty means "not configured"."""

    x_bearer_token: str = ""
    youtube_api_key: str = ""
    telegram_bot_token: str = ""
    facebook_access_token: str = ""
    facebook_enabled: bool = False
    mastodon_instance_url: str = "https://mastodon.social"
    bluesky_appview_url: str = APPVIEW_BASE
    # Base URLs are overridable so the local stack can point every client at the fake server.
    x_base_url: str = X_BASE
    youtube_base_url: str = YOUTUBE_BASE
    telegram_base_url: str = TELEGRAM_BASE
    facebook_base_url: str = GRAPH_BASE


def build_clients(
    creds: PlatformCredentials, transport: HttpTransport, clock: Callable[[], float]
) -> dict[str, PlatformClient]:
    """One client per configured platform; RSS, Bluesky and Mastodon need no secret."""
    clients: dict[str, PlatformClient] = {
        "rss": FeedClient(transport, clock=clock),
        "bluesky": BlueskyClient(transport, base_url=creds.bluesky_appview_url, clock=clock),
    }
    if creds.mastodon_instance_url:
        clients["mastodon"] = MastodonClient(transport, creds.mastodon_instance_url, clock=clock)
    if creds.x_bearer_token:
        clients["x"] = XClient(
            transport, creds.x_bearer_token, base_url=creds.x_base_url, clock=clock
        )
    if creds.youtube_api_key:
        clients["youtube"] = YouTubeClient(
            transport, creds.youtube_api_key, base_url=creds.youtube_base_url, clock=clock
        )
    if creds.telegram_bot_token:
        clients["telegram"] = TelegramBotClient(
            transport, creds.telegram_bot_token, base_url=creds.telegram_base_url, clock=clock
        )
    if creds.facebook_enabled and creds.facebook_access_token:
        clients["facebook"] = FacebookPageClient(
            transport,
            creds.facebook_access_token,
            enabled=True,
            base_url=creds.facebook_base_url,
            clock=clock,
        )
    return clients
