"""Every route the pages serve. The API's bearer-token middleware leaves these to the pages,
which authenticate by their own session cookie (chalicelib/web/session.py)."""

from __future__ import annotations

PAGE_ROUTES = frozenset(
    {
        "/t",
        "/t/{task_id}",
        "/t/{task_id}/ack",
        "/t/{task_id}/done",
        "/t/{task_id}/decline",
        "/i/{incident_key}",
        "/i/{incident_key}/ack",
        "/web/devices",
        "/web/telegram-link",
        "/lang/{lang}",
        "/auth/login",
        "/auth/callback",
        "/auth/logout",
        "/dev/login",
        "/static/{name}",
        "/sw.js",
        "/manifest.webmanifest",
    }
)

# The cell heads' console (chalicelib/web/console/), on the same session cookie.
PAGE_ROUTES = PAGE_ROUTES | frozenset(
    {
        "/console",
        "/console/watchlist",
        "/console/queries",
        "/console/queries/new",
        "/console/queries/{query_id}",
        "/console/queries/check",
        "/console/queries/preview",
        "/console/routes",
        "/console/chains",
        "/console/audit",
    }
)

# The console's teams, stats and feed pages (chalicelib/web/console/{teams,stats,feed}.py).
PAGE_ROUTES = PAGE_ROUTES | frozenset(
    {
        "/console/teams",
        "/console/teams/export",
        "/console/teams/import",
        "/console/stats",
        "/console/feed",
        "/console/feed/items",
    }
)
