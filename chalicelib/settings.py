"""Settings: every environment variable the service reads is named here, once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

ENV_STAGE = "TVARIT_STAGE"
ENV_REGION = "AWS_REGION"
ENV_DEFAULT_REGION = "AWS_DEFAULT_REGION"
ENV_ENDPOINT_URL = "AWS_ENDPOINT_URL"
ENV_TABLE_PREFIX = "TVARIT_TABLE_PREFIX"
ENV_MENTIONS_QUEUE_URL = "TVARIT_MENTIONS_QUEUE_URL"
ENV_TOPIC_ARN_PREFIX = "TVARIT_STATE_TOPIC_ARN_PREFIX"
ENV_WEBHOOK_SECRET = "TVARIT_WEBHOOK_SECRET"  # noqa: S105 (a variable name)
# In AWS, secrets live in SSM Parameter Store (SecureString) under this path, one parameter per
# secret setting: ``{path}{field with dashes}``, e.g. /tvarit/webhook-secret. An env var wins.
ENV_SECRETS_PATH = "TVARIT_SECRETS_PATH"
# Set by Lambda when the function has active X-Ray tracing.
ENV_XRAY_DAEMON = "AWS_XRAY_DAEMON_ADDRESS"
ENV_TRACE_DISABLED = "POWERTOOLS_TRACE_DISABLED"
ENV_MENTION_TTL_DAYS = "TVARIT_MENTION_TTL_DAYS"
ENV_MATCHED_TTL_DAYS = "TVARIT_MATCHED_TTL_DAYS"
ENV_CONFIG_CACHE_SECONDS = "TVARIT_CONFIG_CACHE_SECONDS"
# Polling the platforms (docs/platforms.md). Secrets here for now; Secrets Manager later.
ENV_POLLS_QUEUE_URL = "TVARIT_POLLS_QUEUE_URL"
ENV_X_BEARER_TOKEN = "TVARIT_X_BEARER_TOKEN"  # noqa: S105 (a variable name)
ENV_YOUTUBE_API_KEY = "TVARIT_YOUTUBE_API_KEY"
ENV_TELEGRAM_BOT_TOKEN = "TVARIT_TELEGRAM_BOT_TOKEN"  # noqa: S105
ENV_FACEBOOK_ACCESS_TOKEN = "TVARIT_FACEBOOK_ACCESS_TOKEN"  # noqa: S105
ENV_FACEBOOK_ENABLED = "TVARIT_FACEBOOK_ENABLED"
ENV_MASTODON_URL = "TVARIT_MASTODON_URL"
ENV_PLATFORM_BASE_URL = "TVARIT_PLATFORM_BASE_URL"  # local stack: every API on the fake server
ENV_TELEGRAM_WEBHOOK_SECRET = "TVARIT_TELEGRAM_WEBHOOK_SECRET"  # noqa: S105
ENV_WEBSUB_SECRET = "TVARIT_WEBSUB_SECRET"  # noqa: S105
# API authentication: the token issuer (a Cognito user pool URL, or the local dev issuer), the
# app client id tokens must be for, and the issuer's public keys as JWKS JSON text.
ENV_JWT_ISSUER = "TVARIT_JWT_ISSUER"
ENV_JWT_AUDIENCE = "TVARIT_JWT_AUDIENCE"
ENV_JWKS = "TVARIT_JWKS"
# SNS platform applications that device tokens are registered with (FCM for Android, APNs).
ENV_FCM_APP_ARN = "TVARIT_FCM_PLATFORM_APP_ARN"
ENV_APNS_APP_ARN = "TVARIT_APNS_PLATFORM_APP_ARN"
# Where warriors open their tasks: absolute base URL of the pages (https://..., no trailing
# slash). Notifications link ``{base}/i/{incident}`` (the reader's own task) or, for one team,
# ``{base}/t/{task_id}``; empty: payloads carry no link.
ENV_PUBLIC_BASE_URL = "TVARIT_PUBLIC_BASE_URL"
# Delivery channels this stage offers members besides push, comma-separated: "sms,email".
# SMS also needs India's DLT registration: the principal entity id and the id of the content
# template our SMS text is registered under (TRAI's rules; SNS passes them to the carrier).
ENV_CHANNELS = "TVARIT_CHANNELS"
ENV_SMS_ENTITY_ID = "TVARIT_SMS_ENTITY_ID"
ENV_SMS_TEMPLATE_ID = "TVARIT_SMS_TEMPLATE_ID"
# Only for `tvarit token` and the pages' dev login on the local stack: path of the dev issuer's
# private key (PEM). The dev login exists only when this is set and the issuer is the dev one.
ENV_DEV_SIGNING_KEY = "TVARIT_DEV_SIGNING_KEY"
# The pages' sign-in in production: the Cognito managed login domain (https://..., the user
# pool's hosted UI); its app client is ``TVARIT_JWT_AUDIENCE`` (a public client, PKCE).
ENV_COGNITO_DOMAIN = "TVARIT_COGNITO_DOMAIN"
# The FCM project's web push certificate (VAPID public key, base64url): the pages offer "turn
# on notifications" only when it is set.
ENV_WEB_PUSH_KEY = "TVARIT_WEB_PUSH_KEY"
# Seconds an AWS call may wait for its answer (adapters/aws_budget.py); the local stage raises
# it: one moto process on a shared machine answers far slower than AWS.
ENV_AWS_READ_TIMEOUT = "TVARIT_AWS_READ_TIMEOUT"
# How long one scheduled run of a stream consumer reads (Jetstream): just under a minute in
# Lambda (its timeout is 60 s, the schedule every minute); the local stack runs short ones.
ENV_STREAM_SECONDS = "TVARIT_STREAM_SECONDS"
# The X API plan of this stage's bearer token: "basic" (the default: no filtered stream, the
# timeline poller only), "pro" (the filtered stream) or "enterprise" (the stream with
# ``backfill_minutes``). What each plan allows is the X adapter's table (docs/platforms.md).
ENV_X_PLAN = "TVARIT_X_PLAN"
X_PLANS = ("basic", "pro", "enterprise")

# The Telegram bot as a delivery channel (issue 13): its username (t.me/<username>; setting it
# turns the channel on), the queue of its sends, and the Bot API's base URL (the local fake).
ENV_TELEGRAM_BOT_USERNAME = "TVARIT_TELEGRAM_BOT_USERNAME"
ENV_TELEGRAM_QUEUE_URL = "TVARIT_TELEGRAM_QUEUE_URL"
ENV_TELEGRAM_API_URL = "TVARIT_TELEGRAM_API_URL"
# WhatsApp through AWS End User Messaging Social (docs/deploy.md), off unless set to 1/true:
# the business number's id in End User Messaging Social (phone-number-id-...), the Meta API
# version messages are written for, and the number's limits (domain.whatsapp.SendLimits).
ENV_WHATSAPP = "TVARIT_WHATSAPP"
ENV_WHATSAPP_PHONE_NUMBER_ID = "TVARIT_WHATSAPP_PHONE_NUMBER_ID"
ENV_WHATSAPP_META_API_VERSION = "TVARIT_WHATSAPP_META_API_VERSION"
ENV_WHATSAPP_TIER = "TVARIT_WHATSAPP_TIER"
ENV_WHATSAPP_MPS = "TVARIT_WHATSAPP_MPS"
ENV_WHATSAPP_SENDS_QUEUE_URL = "TVARIT_WHATSAPP_SENDS_QUEUE_URL"

DEFAULT_REGION = "ap-south-1"

# Resource names fixed by the deployment (one AWS account per stage, as AWS recommends).
MENTIONS_QUEUE_NAME = "tvarit-mentions"
POLLS_QUEUE_NAME = "tvarit-polls"
TELEGRAM_QUEUE_NAME = "tvarit-telegram"
WHATSAPP_SENDS_QUEUE_NAME = "tvarit-whatsapp-sends"

# Settings that are secrets: read from SSM (``ENV_SECRETS_PATH``) in AWS when the env is empty.
SECRET_FIELDS = (
    "webhook_secret",
    "telegram_webhook_secret",
    "websub_secret",
    "x_bearer_token",
    "youtube_api_key",
    "telegram_bot_token",
    "facebook_access_token",
)


def secret_parameter_name(path: str, field_name: str) -> str:
    """``("/tvarit/", "webhook_secret")`` -> ``/tvarit/webhook-secret``."""
    return f"{path}{field_name.replace('_', '-')}"


@dataclass(frozen=True)
class Settings:
    """Frozen, loaded once per container by the composition root."""

    stage: str
    region: str
    endpoint_url: str | None
    table_prefix: str
    mentions_queue_url: str
    state_topic_arn_prefix: str
    webhook_secret: str
    mention_ttl_days: int = 30
    matched_ttl_days: int = 365
    config_cache_seconds: float = 30.0
    secrets_path: str = ""
    tracing: bool = False
    polls_queue_url: str = ""
    x_bearer_token: str = field(default="", repr=False)
    youtube_api_key: str = field(default="", repr=False)
    telegram_bot_token: str = field(default="", repr=False)
    facebook_access_token: str = field(default="", repr=False)
    facebook_enabled: bool = False
    mastodon_url: str = "https://mastodon.social"
    platform_base_url: str = ""
    telegram_webhook_secret: str = field(default="", repr=False)
    websub_secret: str = field(default="", repr=False)
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwks: str = ""  # JWKS JSON; empty: fetched from the issuer (https) on first use
    fcm_app_arn: str = ""
    apns_app_arn: str = ""
    public_base_url: str = ""
    dev_signing_key: str = ""
    cognito_domain: str = ""
    web_push_key: str = ""
    channels: tuple[str, ...] = ()  # besides push: "sms", "email"
    sms_entity_id: str = ""
    sms_template_id: str = ""
    aws_read_timeout: float = 2.0
    stream_seconds: float = 54.0
    x_plan: str = "basic"
    telegram_bot_username: str = ""
    telegram_queue_url: str = ""
    telegram_api_url: str = "https://api.telegram.org"

    @property
    def telegram_delivery(self) -> bool:
        """Whether tasks are posted to linked Telegram groups on this stage."""
        return bool(self.telegram_bot_username and self.telegram_queue_url)

    whatsapp: bool = False
    whatsapp_phone_number_id: str = ""
    whatsapp_meta_api_version: str = "v20.0"
    whatsapp_tier: str = "TIER_250"
    whatsapp_mps: int = 80
    whatsapp_sends_queue_url: str = ""

    @property
    def enabled_channels(self) -> frozenset[str]:
        """Channels members may choose: push always; SMS only with its DLT ids set."""
        on = {"push", *self.channels}
        if self.whatsapp:
            on.add("whatsapp")
        if not (self.sms_entity_id and self.sms_template_id):
            on.discard("sms")
        return frozenset(on)

    def startup_warnings(self) -> list[str]:
        """What this configuration leaves off, said once when a container starts."""
        notes: list[str] = []
        if not self.public_base_url:
            notes.append(
                f"{ENV_PUBLIC_BASE_URL} is not set: notifications go out without a task page link"
            )
        if "sms" in self.channels and "sms" not in self.enabled_channels:
            notes.append(
                f"SMS is off: set {ENV_SMS_ENTITY_ID} and {ENV_SMS_TEMPLATE_ID} (India DLT) to "
                "send it; members' sms channel is refused meanwhile"
            )
        elif "sms" not in self.channels:
            notes.append(f"SMS is off: not listed in {ENV_CHANNELS}")
        if self.whatsapp and not self.whatsapp_phone_number_id:
            notes.append(
                f"WhatsApp is on but {ENV_WHATSAPP_PHONE_NUMBER_ID} is empty: sends will fail"
            )
        return notes

    @property
    def mentions_table(self) -> str:
        return f"{self.table_prefix}mentions"

    @property
    def tasks_table(self) -> str:
        return f"{self.table_prefix}tasks"

    @property
    def task_events_table(self) -> str:
        return f"{self.table_prefix}task-events"

    @property
    def config_table(self) -> str:
        return f"{self.table_prefix}config"

    @property
    def audit_table(self) -> str:
        return f"{self.table_prefix}audit"

    def state_topic_arn(self, state: str) -> str:
        return f"{self.state_topic_arn_prefix}{state}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        channels = tuple(
            dict.fromkeys(c.strip() for c in env.get(ENV_CHANNELS, "").split(",") if c.strip())
        )
        unknown = sorted(set(channels) - {"push", "sms", "email"})
        if unknown:
            raise ValueError(f"{ENV_CHANNELS}: unknown channel(s) {', '.join(unknown)}")
        x_plan = env.get(ENV_X_PLAN, "").strip().lower() or "basic"
        if x_plan not in X_PLANS:
            raise ValueError(f"{ENV_X_PLAN}: unknown plan {x_plan!r}; one of {', '.join(X_PLANS)}")
        return cls(
            stage=env.get(ENV_STAGE, "dev"),
            region=env.get(ENV_REGION) or env.get(ENV_DEFAULT_REGION) or DEFAULT_REGION,
            endpoint_url=env.get(ENV_ENDPOINT_URL) or None,
            table_prefix=env.get(ENV_TABLE_PREFIX, "tvarit-"),
            mentions_queue_url=env.get(ENV_MENTIONS_QUEUE_URL, ""),
            state_topic_arn_prefix=env.get(ENV_TOPIC_ARN_PREFIX, ""),
            webhook_secret=env.get(ENV_WEBHOOK_SECRET, ""),
            mention_ttl_days=int(env.get(ENV_MENTION_TTL_DAYS, "30")),
            matched_ttl_days=int(env.get(ENV_MATCHED_TTL_DAYS, "365")),
            config_cache_seconds=float(env.get(ENV_CONFIG_CACHE_SECONDS, "30")),
            secrets_path=env.get(ENV_SECRETS_PATH, ""),
            tracing=bool(env.get(ENV_XRAY_DAEMON))
            and env.get(ENV_TRACE_DISABLED, "").lower() not in ("1", "true"),
            polls_queue_url=env.get(ENV_POLLS_QUEUE_URL, ""),
            x_bearer_token=env.get(ENV_X_BEARER_TOKEN, ""),
            youtube_api_key=env.get(ENV_YOUTUBE_API_KEY, ""),
            telegram_bot_token=env.get(ENV_TELEGRAM_BOT_TOKEN, ""),
            facebook_access_token=env.get(ENV_FACEBOOK_ACCESS_TOKEN, ""),
            facebook_enabled=env.get(ENV_FACEBOOK_ENABLED, "").lower() in ("1", "true", "yes"),
            mastodon_url=env.get(ENV_MASTODON_URL, "https://mastodon.social"),
            platform_base_url=env.get(ENV_PLATFORM_BASE_URL, ""),
            telegram_webhook_secret=env.get(ENV_TELEGRAM_WEBHOOK_SECRET, ""),
            websub_secret=env.get(ENV_WEBSUB_SECRET, ""),
            jwt_issuer=env.get(ENV_JWT_ISSUER, ""),
            jwt_audience=env.get(ENV_JWT_AUDIENCE, ""),
            jwks=env.get(ENV_JWKS, ""),
            fcm_app_arn=env.get(ENV_FCM_APP_ARN, ""),
            apns_app_arn=env.get(ENV_APNS_APP_ARN, ""),
            public_base_url=env.get(ENV_PUBLIC_BASE_URL, "").rstrip("/"),
            dev_signing_key=env.get(ENV_DEV_SIGNING_KEY, ""),
            cognito_domain=env.get(ENV_COGNITO_DOMAIN, "").rstrip("/"),
            web_push_key=env.get(ENV_WEB_PUSH_KEY, ""),
            channels=channels,
            sms_entity_id=env.get(ENV_SMS_ENTITY_ID, "").strip(),
            sms_template_id=env.get(ENV_SMS_TEMPLATE_ID, "").strip(),
            aws_read_timeout=float(env.get(ENV_AWS_READ_TIMEOUT, "2")),
            stream_seconds=float(env.get(ENV_STREAM_SECONDS, "54")),
            x_plan=x_plan,
            telegram_bot_username=env.get(ENV_TELEGRAM_BOT_USERNAME, "").strip().lstrip("@"),
            telegram_queue_url=env.get(ENV_TELEGRAM_QUEUE_URL, ""),
            telegram_api_url=env.get(ENV_TELEGRAM_API_URL, "").rstrip("/")
            or "https://api.telegram.org",
            whatsapp=env.get(ENV_WHATSAPP, "").lower() in ("1", "true", "yes"),
            whatsapp_phone_number_id=env.get(ENV_WHATSAPP_PHONE_NUMBER_ID, "").strip(),
            # Empty (a template parameter left at its default) means the default.
            whatsapp_meta_api_version=env.get(ENV_WHATSAPP_META_API_VERSION, "").strip() or "v20.0",
            whatsapp_tier=env.get(ENV_WHATSAPP_TIER, "").strip() or "TIER_250",
            whatsapp_mps=int(env.get(ENV_WHATSAPP_MPS, "").strip() or "80"),
            whatsapp_sends_queue_url=env.get(ENV_WHATSAPP_SENDS_QUEUE_URL, ""),
        )
