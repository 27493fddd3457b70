"""Composition root: builds adapters lazily, once per container; tests swap in fakes.

Nothing here runs at import time: Lambda imports ``app.py`` on every cold start, and the first
invocation pays only for the adapters it uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.adapters.aws_budget import AwsBudget
    from chalicelib.domain.notify import Outbound
    from chalicelib.services.analyze import AnalyzeService
    from chalicelib.services.config_admin import ConfigAdmin
    from chalicelib.services.config_cache import CachedConfig
    from chalicelib.services.contacts import ContactSync
    from chalicelib.services.devices import DeviceSync
    from chalicelib.services.dispatch import DigestService, DispatchService
    from chalicelib.services.escalate import EscalationService
    from chalicelib.services.polling import (
        CursorStore,
        PlatformClient,
        PollingService,
    )
    from chalicelib.services.ports import (
        Clock,
        ConfigRepository,
        DeliveryChannel,
        DeliveryLedger,
        DeviceRegistry,
        IdempotencyStore,
        InboundTimes,
        IncidentIndex,
        LinkTokenStore,
        LoginCodeExchange,
        MentionQueue,
        MentionRepository,
        MentionRouter,
        ReplayGuard,
        TaskPublisher,
        TaskRepository,
        ThrottleStore,
        TokenVerifier,
        WhatsAppClient,
    )
    from chalicelib.services.rollup import RollupStore
    from chalicelib.services.streams import JobContext, StreamContext
    from chalicelib.services.telegram_bot import (
        BotApi,
        LinkIssuer,
        SendQueue,
        TeamChats,
        TelegramBot,
        TelegramSender,
    )
    from chalicelib.services.whatsapp import WhatsAppInbound, WhatsAppSender


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
        from chalicelib.domain.notify import Outbound

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

    @cached_property
    def aws_budget(self) -> AwsBudget:
        """Timeouts and retries of every AWS client (``adapters/aws_budget.py``)."""
        from chalicelib.adapters.aws_budget import AwsBudget

        return AwsBudget(read_timeout=self.settings.aws_read_timeout)

    def _client(self, service: str) -> Any:
        from chalicelib.adapters.botocore_sessions import new_session

        # Standard retry mode backs off on throttling; the budget bounds a call to an endpoint
        # that hangs; clients are reused across invocations.
        return new_session().create_client(
            service,
            region_name=self.settings.region,
            endpoint_url=self.settings.endpoint_url,
            config=self.aws_budget.botocore_config(),
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

        bind(self.settings, self.aws_budget)
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
        from chalicelib.services.config_cache import CachedConfig

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
        from chalicelib.adapters.platforms.http import Urllib3Transport
        from chalicelib.adapters.platforms.registry import build_clients

        s = self.settings
        # Short timeouts: a poll is one Lambda invocation per account, not a long wait.
        transport = Urllib3Transport(timeout=8.0, attempts=2)
        # Which platform needs which secret, flag and base URL is its descriptor's to say.
        return build_clients(
            self.secret,
            transport,
            self.wall_time,
            flag=lambda name: bool(getattr(s, name)),
            setting=lambda name: str(getattr(s, name)),
            local_base=s.platform_base_url,
        )

    @cached_property
    def poller(self) -> PollingService:
        from chalicelib.services.polling import PollingService, QueueMentionSink, WindowBudget

        # The budget lives per container: it caps one container's spending; the schedule's
        # intervals (docs/platforms.md) keep the fleet inside each platform's quota.
        return PollingService(
            self.platform_clients,
            self.cursor_store,
            QueueMentionSink(self.mention_queue),
            WindowBudget(),
            self.wall_time,
        )

    def stream_context(self, platform: str, stream: str) -> StreamContext:
        """What the descriptor's stream consumer needs: where, whom, how long, where to save."""
        from chalicelib.domain.platforms import BY_NAME
        from chalicelib.services.polling import QueueMentionSink
        from chalicelib.services.streams import StreamConsumer, StreamContext

        s = self.settings
        desc = next(st for st in BY_NAME[platform].streams if st.name == stream)
        local = s.platform_base_url.rstrip("/")
        # The fake server speaks WebSocket on its HTTP port.
        root = local.replace("http", "ws", 1) if desc.websocket else local
        base = root + desc.local_path if local else desc.base_url
        watched = [
            a.platform_id or a.handle
            for leader in self.config.watch_config().leaders.values()
            for a in leader.accounts
            if a.platform == platform
        ]
        consumer = StreamConsumer(
            self.cursor_store, QueueMentionSink(self.mention_queue), self.wall_time
        )
        return StreamContext(
            consumer,
            base,
            watched,
            s.stream_seconds,
            self.secret,
            self.wall_time,
            setting=lambda name: str(getattr(s, name, "")),
            cursors=self.cursor_store,
        )

    def job_context(self, platform: str, job: str) -> JobContext:
        """What the descriptor's scheduled job needs: its endpoint, the watched ids, its state."""
        from chalicelib.adapters.platforms.http import Urllib3Transport
        from chalicelib.domain.platforms import BY_NAME
        from chalicelib.services.streams import JobContext

        s = self.settings
        desc = next(j for j in BY_NAME[platform].jobs if j.name == job)
        local = s.platform_base_url.rstrip("/")
        watched = [
            a.platform_id or a.handle
            for leader in self.config.watch_config().leaders.values()
            for a in leader.accounts
            if a.platform == platform
        ]
        return JobContext(
            base_url=local + desc.local_path if local else desc.base_url,
            watched_ids=watched,
            cursors=self.cursor_store,
            transport=Urllib3Transport(timeout=8.0),
            public_base_url=s.public_base_url,
            secret=self.secret,
            wall_clock=self.wall_time,
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
        from chalicelib.services.devices import DeviceSync

        return DeviceSync(self.config_repo, self.devices)

    @cached_property
    def contact_sync(self) -> ContactSync:
        from chalicelib.adapters.sns_contacts import SnsContactSubscriber
        from chalicelib.services.contacts import ContactSync

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
        from chalicelib.services.analyze import AnalyzeService

        return AnalyzeService(
            config=self.config,
            mentions=self.mentions,
            tasks=self.tasks,
            clock=self.clock,
            detect=detect,
            mention_ttl=timedelta(days=self.settings.mention_ttl_days),
            matched_ttl=timedelta(days=self.settings.matched_ttl_days),
            incidents=self.incidents,
            router=self.mention_router,
        )

    @cached_property
    def incidents(self) -> IncidentIndex:
        from chalicelib.adapters.dynamo.incidents import DynamoIncidentIndex

        assert self._dynamo_bound
        return DynamoIncidentIndex()

    @cached_property
    def mention_router(self) -> MentionRouter | None:
        """Analyze's one write per matched mention (issue 17), over the tables of the incident
        index, tasks and mentions: only when none of those was replaced (by a fake)."""
        from chalicelib.adapters.dynamo.incidents import DynamoIncidentIndex
        from chalicelib.adapters.dynamo.repositories import (
            DynamoMentionRepository,
            DynamoTaskRepository,
        )
        from chalicelib.adapters.dynamo.routing import DynamoMentionRouter

        incidents = self.incidents
        if not isinstance(incidents, DynamoIncidentIndex):
            return None
        if isinstance(self.tasks, DynamoTaskRepository) and isinstance(
            self.mentions, DynamoMentionRepository
        ):
            return DynamoMentionRouter(incidents.window)
        return None

    @cached_property
    def escalator(self) -> EscalationService:
        from chalicelib.services.escalate import EscalationService

        return EscalationService(
            self.tasks, self.config, self.publisher, self.clock, outbound=self.outbound
        )

    @cached_property
    def channels(self) -> dict[str, DeliveryChannel]:
        """The delivery channels this stage runs, by name (``domain.channels.CHANNELS``)."""
        from chalicelib.adapters.channels.sns import SnsChannel
        from chalicelib.domain.channels import SNS, TELEGRAM, WHATSAPP

        channels: dict[str, DeliveryChannel] = {SNS: SnsChannel(self.publisher, self.outbound)}
        if self.settings.telegram_delivery:
            from chalicelib.adapters.channels.telegram import TelegramChannel

            channels[TELEGRAM] = TelegramChannel(
                self.team_chats, self.delivery_ledger, self.telegram_queue
            )
        if self.settings.whatsapp:
            from chalicelib.adapters.channels.whatsapp import WhatsAppChannel

            channels[WHATSAPP] = WhatsAppChannel(self.config_repo, self.whatsapp_queue)
        return channels

    # ---- Telegram (issue 13) ------------------------------------------------------------------

    @cached_property
    def telegram_api(self) -> BotApi:
        from chalicelib.adapters.channels.telegram import TelegramBotApi
        from chalicelib.adapters.platforms.http import Urllib3Transport

        return TelegramBotApi(
            self.secret("telegram_bot_token"),
            Urllib3Transport(timeout=8.0),
            self.settings.telegram_api_url,
            self.wall_time,
        )

    @cached_property
    def telegram_queue(self) -> SendQueue:
        from chalicelib.adapters.channels.telegram import SqsSendQueue

        return SqsSendQueue(self._client("sqs"), self.settings.telegram_queue_url)

    @cached_property
    def delivery_ledger(self) -> DeliveryLedger:
        from chalicelib.adapters.dynamo.channel_state import DynamoDeliveryLedger

        assert self._dynamo_bound
        return DynamoDeliveryLedger()

    @cached_property
    def link_tokens(self) -> LinkTokenStore:
        from chalicelib.adapters.dynamo.channel_state import DynamoLinkTokenStore

        assert self._dynamo_bound
        return DynamoLinkTokenStore()

    @cached_property
    def replays(self) -> ReplayGuard:
        from chalicelib.adapters.dynamo.channel_state import DynamoReplayGuard

        assert self._dynamo_bound
        return DynamoReplayGuard()

    @cached_property
    def team_chats(self) -> TeamChats:
        from chalicelib.services.telegram_bot import TeamChats

        return TeamChats(
            self.config_repo,
            self.config.state_of_team,
            time.monotonic,
            self.settings.config_cache_seconds,
        )

    @cached_property
    def config_admin(self) -> ConfigAdmin:
        from chalicelib.services.config_admin import ConfigAdmin

        return ConfigAdmin(self.config_repo, self.contact_sync, self.device_sync)

    @cached_property
    def telegram_bot(self) -> TelegramBot:
        from chalicelib.services.telegram_bot import TelegramBot

        return TelegramBot(
            self.tasks,
            self.config_repo,
            self.config_admin,
            self.telegram_api,
            self.link_tokens,
            self.replays,
            self.clock,
            self.settings.telegram_bot_username,
        )

    @cached_property
    def link_issuer(self) -> LinkIssuer:
        from chalicelib.services.telegram_bot import LinkIssuer

        return LinkIssuer(
            self.config_repo, self.link_tokens, self.clock, self.settings.telegram_bot_username
        )

    @cached_property
    def telegram_sender(self) -> TelegramSender:
        from chalicelib.services.telegram_bot import TelegramSender

        return TelegramSender(
            self.tasks,
            self.config_repo,
            self.team_chats,
            self.delivery_ledger,
            self.telegram_api,
            self.clock,
            self.wall_time,
            time.sleep,
            self.outbound,
        )

    @cached_property
    def dispatcher(self) -> DispatchService:
        from chalicelib.services.dispatch import DispatchService

        return DispatchService(self.tasks, self.channels, self.clock, self.config, self.throttle)

    @cached_property
    def throttle(self) -> ThrottleStore:
        from chalicelib.adapters.dynamo.throttle import DynamoThrottleStore

        assert self._dynamo_bound
        return DynamoThrottleStore()

    @cached_property
    def digester(self) -> DigestService:
        from chalicelib.services.dispatch import DigestService

        return DigestService(
            self.tasks, self.throttle, self.config, self.publisher, self.clock, self.outbound
        )

    # WhatsApp (End User Messaging Social), built only where the stage turns it on.
    @cached_property
    def inbound_times(self) -> InboundTimes:
        from chalicelib.adapters.dynamo.channel_state import DynamoInboundTimes

        assert self._dynamo_bound
        return DynamoInboundTimes()

    @cached_property
    def whatsapp_client(self) -> WhatsAppClient:
        from chalicelib.adapters.whatsapp import SocialMessagingWhatsAppClient

        return SocialMessagingWhatsAppClient(self._client("socialmessaging"))

    @cached_property
    def whatsapp_queue(self) -> MentionQueue:
        """One message per (task, member) to send; its one consumer keeps the number's limits."""
        from chalicelib.adapters.sqs import SqsMentionQueue

        return SqsMentionQueue(self._client("sqs"), self.settings.whatsapp_sends_queue_url)

    @cached_property
    def whatsapp_inbound(self) -> WhatsAppInbound:
        from chalicelib.services.whatsapp import WhatsAppInbound

        return WhatsAppInbound(
            self.config_repo, self.tasks, self.replays, self.inbound_times, self.clock
        )

    @cached_property
    def whatsapp_sender(self) -> WhatsAppSender:
        from chalicelib.domain.links import task_page_url
        from chalicelib.domain.whatsapp import SendLimiter, SendLimits
        from chalicelib.services.whatsapp import WhatsAppSender, load_templates

        s = self.settings
        return WhatsAppSender(
            self.whatsapp_client,
            self.delivery_ledger,
            self.replays,
            self.inbound_times,
            load_templates(),
            SendLimiter(SendLimits(s.whatsapp_mps, s.whatsapp_tier)),
            s.whatsapp_phone_number_id,
            s.whatsapp_meta_api_version,
            self.clock,
            time.sleep,
            lambda task: task_page_url(s.public_base_url, task.task_id),
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
