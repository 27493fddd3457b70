"""Links people follow: one place that spells the pages' URLs."""

from __future__ import annotations

from urllib.parse import quote

TASK_PAGE_PATH = "/t/{task_id}"
# One link for every team of an incident: each warrior's session resolves it to their own task
# (task ids are ``task_id_for(team, incident)``), so one publish can serve a whole state.
INCIDENT_PAGE_PATH = "/i/{incident_key}"


def task_page_path(task_id: str) -> str:
    """The task page's path, ``/t/<task id>``."""
    return TASK_PAGE_PATH.format(task_id=quote(task_id, safe=""))


def task_page_url(public_base_url: str, task_id: str) -> str:
    """The absolute task page URL; empty when no public base URL is configured."""
    if not public_base_url:
        return ""
    return public_base_url.rstrip("/") + task_page_path(task_id)


def incident_page_path(incident_key: str) -> str:
    """The incident link's path, ``/i/<incident key>``: opens the caller's own task page."""
    return INCIDENT_PAGE_PATH.format(incident_key=quote(incident_key, safe=""))


def incident_page_url(public_base_url: str, incident_key: str) -> str:
    """The absolute incident link; empty when no public base URL is configured."""
    if not public_base_url:
        return ""
    return public_base_url.rstrip("/") + incident_page_path(incident_key)
