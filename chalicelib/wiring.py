"""Composition root: builds adapters lazily, once per container; tests swap in fakes.

Nothing here runs at import time: Lambda imports ``app.py`` on every cold start, and the first
invocation pays only for the adapters it uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from chalicelib.domain.notify import Outbound
from chalicelib.services.analyze import AnalyzeService
from chalicelib.services.config_cache import CachedConfig
from chalicelib.services.contacts import ContactSync
from chalicelib.services.devices import DeviceSync
from chalicelib.services.dispatch import DigestService, DispatchService
from chalicelib.services.escalate import EscalationService
from chalicelib.services.polling import (
    CursorStore,
    PlatformClient,
    PollingService,
    QueueMentionSink,
    WindowBudget,
)
from chalicelib.services.ports import (
    Clock,
    ConfigRepository,
    DeviceRegistry,
    IdempotencyStore,
    IncidentIndex,
    LoginCodeExchange,
    MentionQueue,
    MentionRepository,
    TaskPublisher,
    TaskRepository,
    ThrottleStore,
    TokenVerifier,
)
from chalicelib.services.rollup import RollupStore
from chalicelib.settings import Settings


def utcnow() -> datetime:
    return datetime.now(UTC)


class Container:
    """Everything a handler needs. Pass overrides (``tasks=FakeTasks()``) to replace adapters."""

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        self._settings = settings
        for name, value in overrides.items():
            if not hasattr(type(self), name):
                raise AttributeError(f"Container has no component {name!r}")
            self.__dict__[name] = value  # pre-fills the cached_property

    @cached_property
    def settings(self) -> Settings:
        settings = self._settings or Settings.from_env()
        from chalicelib.observability import logger

        for note in settings.startup_warnings():  # once per container: its cold start
            logger.warning(note)
        return settings

    @cached_property
    def outbound(self) -> Outbound:
        s = self.settings
        sms = "sms" in s.enabled_channels
        return Outbound(
            s.public_base_url,
            s.sms_entity_id if sms else "",
            s.sms_template_id if sms else "",
        )

    @cached_property
    def clock(self) -> Clock:
        return utcnow

    @cached_property
    def wall_time(self) -> Any:
        return time.time

    def _client(self, service: str) -> Any:
        import botocore.config

        from chalicelib.adapters.botocore_sessions import new_session

        # Standard retry mode backs off on throttling; clients are reused across invocations.
        return new_session().create_client(
            service,
            region_name=self.settings.region,
            endpoint_url=self.settings.endpoint_url,
            config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 5}),
        )

    @cached_property
    def _ssm(self) -> Any:
        return self._client("ssm")

    def secret(self, name: str) -> str:
        """A secret setting (a field in ``SECRET_FIELDS``): its env var if set, else SSM.

        Read on first use and kept for the container's life, so a function only reads the
        secrets it uses (and its IAM policy names only those). Rotating one means updating the
        parameter and letting containers recycle.
        """
        from chalicelib.settings import SECRET_FIELDS, secret_parameter_name

        if name not in SECRET_FIELDS:
            raise AttributeError(f"{name!r} is not a secret setting")
        value = str(getattr(self.settings, name))
        if value or not self.settings.secrets_path:
            return value
        cache: dict[str, str] = self.__dict__.setdefault("_secrets", {})
        if name not in cache:
            from chalicelib.adapters.secrets import read_parameter

            parameter = secret_parameter_name(self.settings.secrets_path, name)
            cache[name] = read_parameter(self._ssm, parameter)
        return cache[name]

    @property
    def webhook_secret(self) -> str:
        return self.secret("webhook_secret")

    @cached_property
    def _dynamo_bound(self) -> bool:
        from chalicelib.adapters.dynamo.models import bind

        bind(self.settings)
        return True

    @cached_property
    def mentions(self) -> MentionRepository:
        from chalicelib.adapters.dynamo.repositories import DynamoMentionRepository

        assert self._dynamo_bound
        return DynamoMentionRepository()

    @cached_property
    def tasks(self) -> TaskRepository:
        from chalicelib.adapters.dynamo.repositories import DynamoTaskRepository

        assert self._dynamo_bound
        return DynamoTaskRepository()

    @cached_property
    def config_repo(self) -> ConfigRepository:
        from chalicelib.adapters.dynamo.repositories import DynamoConfigRepository

        assert self._dynamo_bound
        return DynamoConfigRepository(self.clock)

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        from chalicelib.adapters.dynamo.idempotency import DynamoIdempotencyStore

        assert self._dynamo_bound
        return DynamoIdempotencyStore()

    @cached_property
    def new_id(self) -> Callable[[], str]:
        import uuid

        return lambda: uuid.uuid4().hex

    @cached_property
    def config(self) -> CachedConfig:
        return CachedConfig(self.config_repo, self.settings.config_cache_seconds, time.monotonic)

    @cached_property
    def mention_queue(self) -> MentionQueue:
        from chalicelib.adapters.sqs import SqsMentionQueue

        return SqsMentionQueue(self._client("sqs"), self.settings.mentions_queue_url)

    @cached_property
    def publisher(self) -> TaskPublisher:
        from chalicelib.adapters.sns import SnsTaskPublisher

        return SnsTaskPublisher(self._client("sns"), self.settings.state_topic_arn)

    @cached_property
    def poll_queue(self) -> MentionQueue:
        """The queue of poll requests, one message per due account."""
        from chalicelib.adapters.sqs import SqsMentionQueue

        return SqsMentionQueue(self._client("sqs"), self.settings.polls_queue_url)

    @cached_property
    def cursor_store(self) -> CursorStore:
        from chalicelib.adapters.dynamo.poll_state import DynamoCursorStore

        assert self._dynamo_bound
        return DynamoCursorStore()

    @cached_property
    def platform_clients(self) -> dict[str, PlatformClient]:
        from chalicelib.adapters.platforms.http import RetryingTransport, UrllibTransport
        from chalicelib.adapters.platforms.registry import PlatformCredentials, build_clients

        s = self.settings
        base = s.platform_base_url.rstrip("/")
        urls = (
            {
                "x_base_url": base,
                "youtube_base_url": f"{base}/youtube/v3",
                "telegram_base_url": base,
                "facebook_base_url": f"{base}/v19.0",
                "bluesky_appview_url": base,
            }
            if base
            else {}
        )
        creds = PlatformCredentials(
            x_bearer_token=self.secret("x_bearer_token"),
            youtube_api_key=self.secret("youtube_api_key"),
            telegram_bot_token=self.secret("telegram_bot_token"),
            facebook_access_token=self.secret("facebook_access_token"),
            facebook_enabled=s.facebook_enabled,
            mastodon_instance_url=base or s.mastodon_url,
            **urls,
        )
        # Short timeouts: a poll is one Lambda invocation per account, not a long wait.
        transport = RetryingTransport(UrllibTransport(timeout=8.0), attempts=2)
        return build_clients(creds, transport, self.wall_time)

    @cached_property
    def poller(self) -> PollingService:
        # The budget lives per container: it caps one container's spending; the schedule's
        # intervals (docs/platforms.md) keep the fleet inside each platform's quota.
        return PollingService(
            self.platform_clients,
            self.cursor_store,
            QueueMentionSink(self.mention_queue),
            WindowBudget(),
            self.wall_time,
        )

    @cached_property
    def devices(self) -> DeviceRegistry:
        from chalicelib.adapters.sns_devices import SnsDeviceRegistry

        s = self.settings
        return SnsDeviceRegistry(
            self._client("sns"), {"fcm": s.fcm_app_arn, "apns": s.apns_app_arn}
        )

    @cached_property
    def device_sync(self) -> DeviceSync:
        return DeviceSync(self.config_repo, self.devices)

    @cached_property
    def contact_sync(self) -> ContactSync:
        from chalicelib.adapters.sns_contacts import SnsContactSubscriber

        s = self.settings
        return ContactSync(
            self.config_repo,
            SnsContactSubscriber(self._client("sns")),
            s.state_topic_arn,
            s.enabled_channels,
            self.clock,
        )

    @cached_property
    def token_verifier(self) -> TokenVerifier:
        from chalicelib.adapters.jwt_tokens import JwtVerifier, jwks_url_for

        s = self.settings
        return JwtVerifier(
            s.jwt_issuer, s.jwt_audience, s.jwks, self.clock, jwks_url_for(s.jwt_issuer)
        )

    @cached_property
    def login_exchange(self) -> LoginCodeExchange:
        from chalicelib.adapters.cognito_login import CognitoCodeExchange

        s = self.settings
        return CognitoCodeExchange(s.cognito_domain, s.jwt_audience)

    @cached_property
    def analyzer(self) -> AnalyzeService:
        from chalicelib.domain.language import detect

        return AnalyzeService(
            config=self.config,
            mentions=self.mentions,
            tasks=self.tasks,
            clock=self.clock,
            detect=detect,
            mention_ttl=timedelta(days=self.settings.mention_ttl_days),
            matched_ttl=timedelta(days=self.settings.matched_ttl_days),
            incidents=self.incidents,
        )

    @cached_property
    def incidents(self) -> IncidentIndex:
        from chalicelib.adapters.dynamo.incidents import DynamoIncidentIndex

        assert self._dynamo_bound
        return DynamoIncidentIndex()

    @cached_property
    def escalator(self) -> EscalationService:
        return EscalationService(
            self.tasks, self.config, self.publisher, self.clock, outbound=self.outbound
        )

    @cached_property
    def dispatcher(self) -> DispatchService:
        return DispatchService(
            self.tasks, self.publisher, self.clock, self.config, self.throttle, self.outbound
        )

    @cached_property
    def throttle(self) -> ThrottleStore:
        from chalicelib.adapters.dynamo.throttle import DynamoThrottleStore

        assert self._dynamo_bound
        return DynamoThrottleStore()

    @cached_property
    def digester(self) -> DigestService:
        return DigestService(
            self.tasks, self.throttle, self.config, self.publisher, self.clock, self.outbound
        )

    @cached_property
    def rollups(self) -> RollupStore:
        from chalicelib.adapters.dynamo.rollups import DynamoRollupStore

        assert self._dynamo_bound
        return DynamoRollupStore()


_current: Container | None = None


def container() -> Container:
    """The container of this Lambda execution environment, built on first use."""
    global _current
    if _current is None:
        _current = Container()
    return _current


def use(replacement: Container | None) -> None:
    """Install a container (tests, the local stack); ``None`` resets to lazy defaults."""
    global _current
    _current = replacement
