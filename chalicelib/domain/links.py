"""Links people follow: one place that spells the pages' URLs."""

from __future__ import annotations

from urllib.parse import quote

TASK_PAGE_PATH = "/t/{task_id}"


def task_page_path(task_id: str) -> str:
    """The task page's path, ``/t/<task id>``."""
    return TASK_PAGE_PATH.format(task_id=quote(task_id, safe=""))


def task_page_url(public_base_url: str, task_id: str) -> str:
    """The absolute task page URL; empty when no public base URL is configured."""
    if not public_base_url:
        return ""
    return public_base_url.rstrip("/") + task_page_path(task_id)
