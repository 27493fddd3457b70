from __future__ import annotations

from collections.abc import Mapping

import pytest

from chalicelib.adapters.platforms.http import Urllib3Transport
from chalicelib.adapters.platforms.registry import build_clients, credentials_from


@pytest.mark.parametrize(
    ("secrets", "flags", "settings", "platforms"),
    [
        ({}, {}, {"mastodon_url": "https://mastodon.social"}, {"rss", "bluesky", "mastodon"}),
        ({}, {}, {"mastodon_url": ""}, {"rss", "bluesky"}),
        ({"x_bearer_token": "t"}, {}, {}, {"rss", "bluesky", "mastodon", "x"}),
        ({"youtube_api_key": "k"}, {}, {}, {"rss", "bluesky", "mastodon", "youtube"}),
        ({"telegram_bot_token": "1:a"}, {}, {}, {"rss", "bluesky", "mastodon", "telegram"}),
        # Facebook stays off without the flag, even with a token (app review first).
        ({"facebook_access_token": "f"}, {}, {}, {"rss", "bluesky", "mastodon"}),
        (
            {"facebook_access_token": "f"},
            {"facebook_enabled": True},
            {},
            {"rss", "bluesky", "mastodon", "facebook"},
        ),
    ],
)
def test_only_configured_platforms_get_a_client(
    secrets: Mapping[str, str],
    flags: Mapping[str, bool],
    settings: Mapping[str, str],
    platforms: set[str],
) -> None:
    values = {"mastodon_url": "https://mastodon.social", **settings}
    clients = build_clients(
        credentials_from(secrets),
        Urllib3Transport(),
        lambda: 0.0,
        flag=lambda name: flags.get(name, False),
        setting=credentials_from(values),
    )
    assert set(clients) == platforms
    assert all(client.platform == name for name, client in clients.items())
