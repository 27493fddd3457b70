"""The analyze use case: one mention message in, stored mention and tasks out. Idempotent."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from chalicelib.services.ports import (
    Clock,
    IncidentIndex,
    MentionRepository,
    MentionRouter,
    TaskRepository,
)

ROUTED = "routed"
ANALYZED = "analyzed"
NEW = "new"  # incident reasons (domain.incidents.IncidentDecision)
REDELIVERY = "redelivery"


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
    # When the stages ended (the service's clock): analyzed, stored, tasks written.
    analyzed_at: datetime | None = None
    stored_at: datetime | None = None
    tasks_written_at: datetime | None = None


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
    # Routes a matched mention in one write (issue 17); without it, the ports above do it
    # call by call (the in-memory fakes).
    router: MentionRouter | None = None

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
        now = self.clock()
        config = self.config.watch_config()
        analyzed = analyze(
            mention, self.detect(mention.text), config, now, self.mention_ttl, self.matched_ttl
        )
        analyzed_at = self.clock()
        if self.router is not None and analyzed.leader is not None and analyzed.matches:
            return self._route(analyzed, config, correlation_id, now, analyzed_at)
        incident_key, reason = "", ""
        if analyzed.leader is not None and analyzed.matches:
            # A redelivery finds the incident it was given before and cannot fork a new one.
            decision = self.incidents.assign(analyzed.incident_probe(signature))
            incident_key, reason = decision.incident_key, decision.reason
            if reason == REDELIVERY and self.mentions.status_of(mention.key) == ROUTED:
                return AnalyzeOutcome(mention.key, duplicate=True)
        teams = self._candidate_teams(analyzed, config)
        planned = plan_tasks(analyzed, config, teams, now, incident_key)
        created: list[str] = []
        if reason == NEW and len(planned) > 1 and self.tasks.create_all(planned):
            # A new incident's tasks are new: one write for all (a clash falls back below).
            created, planned_left = [t.task_id for t in planned], []
        else:
            planned_left = planned
        for task in planned_left:
            # One open task per (team, incident): a later mention of a known incident updates
            # the team's task (pages nobody), so that is tried first when the incident existed.
            if reason == NEW:
                if self.tasks.create(task):
                    created.append(task.task_id)
                else:
                    self.tasks.note_mention(task.task_id, mention.key, task.priority)
            elif not self.tasks.note_mention(
                task.task_id, mention.key, task.priority
            ) and self.tasks.create(task):
                # No such task yet (a team the incident had not reached): this one opens it.
                created.append(task.task_id)
        tasks_written_at = self.clock()
        task_ids = tuple(t.task_id for t in planned)
        # Stored last, already routed: one write, the mark that this mention is done. A crash
        # before it leaves nothing that a redelivery would not redo the same way (the incident
        # answers "redelivery", task writes are conditional on the deterministic ids).
        stored = self.mentions.put_routed(analyzed, correlation_id or mention.key, task_ids)
        stored_at = self.clock()
        if not stored and not planned:
            return AnalyzeOutcome(mention.key, duplicate=True)
        return AnalyzeOutcome(
            key=mention.key,
            duplicate=False,
            incident_key=incident_key,
            incident_reason=reason,
            query_ids=tuple(m.query_id for m in analyzed.matches),
            task_ids=task_ids,
            new_task_ids=tuple(created),
            analyzed_at=analyzed_at,
            stored_at=stored_at,
            tasks_written_at=tasks_written_at if planned else None,
        )

    def _route(
        self,
        analyzed: AnalyzedMention,
        config: WatchConfig,
        correlation_id: str,
        now: datetime,
        analyzed_at: datetime,
    ) -> AnalyzeOutcome:
        assert self.router is not None
        teams = self._candidate_teams(analyzed, config)
        routed = self.router.route(
            analyzed,
            analyzed.incident_probe(signature),
            lambda incident_key: plan_tasks(analyzed, config, teams, now, incident_key),
            correlation_id or analyzed.mention.key,
        )
        key = analyzed.mention.key
        if routed.duplicate:
            return AnalyzeOutcome(key, duplicate=True)
        # The tasks and the mention are one write: written and stored at once.
        written = self.clock()
        task_ids = tuple(t.task_id for t in routed.planned)
        return AnalyzeOutcome(
            key=key,
            duplicate=False,
            incident_key=routed.decision.incident_key,
            incident_reason=routed.decision.reason,
            query_ids=tuple(m.query_id for m in analyzed.matches),
            task_ids=task_ids,
            new_task_ids=routed.created,
            analyzed_at=analyzed_at,
            stored_at=written,
            tasks_written_at=written if task_ids else None,
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
