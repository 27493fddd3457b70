"""The analyze use case: one mention message in, stored mention and tasks out. Idempotent."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from chalicelib.domain.analysis import (
    AnalyzedMention,
    WatchConfig,
    analyze,
    plan_tasks,
    route_labels,
)
from chalicelib.domain.incidents import signature
from chalicelib.domain.language import LanguageResult
from chalicelib.domain.mention import mention_from_dict
from chalicelib.domain.org import Team
from chalicelib.domain.routing import states_needed
from chalicelib.domain.states import STATE_CODES
from chalicelib.errors import FieldProblem, MalformedInputError
from chalicelib.services.config_cache import CachedConfig
from chalicelib.services.ports import Clock, IncidentIndex, MentionRepository, TaskRepository

ROUTED = "routed"
ANALYZED = "analyzed"


@dataclass(frozen=True)
class AnalyzeOutcome:
    key: str
    duplicate: bool
    deleted: bool = False
    incident_key: str = ""
    incident_reason: str = ""
    query_ids: tuple[str, ...] = ()
    task_ids: tuple[str, ...] = ()
    new_task_ids: tuple[str, ...] = ()


@dataclass
class AnalyzeService:
    config: CachedConfig
    mentions: MentionRepository
    tasks: TaskRepository
    clock: Clock
    detect: Callable[[str], LanguageResult]
    mention_ttl: timedelta
    matched_ttl: timedelta
    incidents: IncidentIndex

    def handle(self, message: Mapping[str, Any], correlation_id: str = "") -> AnalyzeOutcome:
        """Analyze, store and route one mention; safe to run again for the same message."""
        try:
            mention = mention_from_dict(message)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise MalformedInputError(
                "mention message has the wrong shape", [FieldProblem("body", repr(err))]
            ) from None
        if mention.deleted:
            # Deleted on its platform: our copy goes, and so does its text in tasks made from it.
            made_from = tuple(self.mentions.delete(mention.key))
            for task_id in made_from:
                self.tasks.redact(task_id, mention.key)
            return AnalyzeOutcome(mention.key, duplicate=False, deleted=True, task_ids=made_from)
        # A mention fully routed before is a duplicate: no work, and certainly no second task.
        if self.mentions.status_of(mention.key) == ROUTED:
            return AnalyzeOutcome(mention.key, duplicate=True)
        now = self.clock()
        config = self.config.watch_config()
        analyzed = analyze(
            mention, self.detect(mention.text), config, now, self.mention_ttl, self.matched_ttl
        )
        # Stored first (conditional put); if we crash later, a redelivery finds it "analyzed"
        # and finishes the routing, whose task writes are themselves conditional.
        self.mentions.put_new(analyzed, correlation_id or mention.key)
        incident_key, reason = "", ""
        if analyzed.leader is not None and analyzed.matches:
            # A redelivery finds the incident it was given before and cannot fork a new one.
            incident_key = self.incidents.incident_of(mention.key) or ""
            reason = "redelivery" if incident_key else ""
            if not incident_key:
                decision = self.incidents.assign(analyzed.incident_probe(signature))
                incident_key, reason = decision.incident_key, decision.reason
        teams = self._candidate_teams(analyzed, config)
        planned = plan_tasks(analyzed, config, teams, now, incident_key)
        created: list[str] = []
        for task in planned:
            if self.tasks.create(task):
                created.append(task.task_id)
            else:
                # One open task per (team, incident): a new mention updates it, pages nobody.
                self.tasks.note_mention(task.task_id, mention.key, task.priority)
        task_ids = tuple(t.task_id for t in planned)
        self.mentions.mark_routed(mention.key, task_ids)
        return AnalyzeOutcome(
            key=mention.key,
            duplicate=False,
            incident_key=incident_key,
            incident_reason=reason,
            query_ids=tuple(m.query_id for m in analyzed.matches),
            task_ids=task_ids,
            new_task_ids=tuple(created),
        )

    def _candidate_teams(self, analyzed: AnalyzedMention, config: WatchConfig) -> list[Team]:
        """The teams of every state the matched routes may choose (usually the leader's)."""
        labels = route_labels(analyzed, config)
        if not labels:
            return []
        states = states_needed(
            config.routes.match(labels), labels["state"], self.config.state_of_team, STATE_CODES
        )
        return [team for state in sorted(states) for team in self.config.teams_in_state(state)]
