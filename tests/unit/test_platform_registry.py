from __future__ import annotations

import pytest

from chalicelib.adapters.platforms.http import UrllibTransport
from chalicelib.adapters.platforms.registry import PlatformCredentials, build_clients


@pytest.mark.parametrize(
    ("creds", "platforms"),
    [
        (PlatformCredentials(), {"rss", "bluesky", "mastodon"}),
        (PlatformCredentials(mastodon_instance_url=""), {"rss", "bluesky"}),
        (PlatformCredentials(x_bearer_token="t"), {"rss", "bluesky", "mastodon", "x"}),
        (PlatformCredentials(youtube_api_key="k"), {"rss", "bluesky", "mastodon", "youtube"}),
        (PlatformCredentials(telegram_bot_token="1:a"), {"rss", "bluesky", "mastodon", "telegram"}),
        # Facebook stays off without the flag, even with a token (app review first).
        (PlatformCredentials(facebook_access_token="f"), {"rss", "bluesky", "mastodon"}),
        (
            PlatformCredentials(facebook_access_token="f", facebook_enabled=True),
            {"rss", "bluesky", "mastodon", "facebook"},
        ),
    ],
)
def test_only_configured_platforms_get_a_client(
    creds: PlatformCredentials, platforms: set[str]
) -> None:
    clients = build_clients(creds, UrllibTransport(), lambda: 0.0)
    assert set(clients) == platforms
    assert all(client.platform == name for name, client in clients.items())
