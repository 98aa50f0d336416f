"""The channels this deployment has secrets for; a channel without them is off, not a crash."""

from __future__ import annotations

import logging

from bot.channels.base import Channel
from bot.channels.messenger import Messenger
from bot.channels.viber import Viber
from bot.settings import Settings

log = logging.getLogger(__name__)


def build_channels(settings: Settings) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    if settings.messenger_enabled:
        channels["messenger"] = Messenger(
            app_secret=settings.MESSENGER_APP_SECRET,
            page_token=settings.MESSENGER_PAGE_TOKEN,
            graph_url=settings.MESSENGER_GRAPH_URL,
            timeout=settings.HTTP_TIMEOUT_SECONDS,
        )
    else:
        log.warning("Messenger is disabled: MESSENGER_APP_SECRET or MESSENGER_PAGE_TOKEN is unset")
    if settings.viber_enabled:
        channels["viber"] = Viber(
            auth_token=settings.VIBER_AUTH_TOKEN,
            bot_name=settings.VIBER_BOT_NAME,
            api_url=settings.VIBER_API_URL,
            timeout=settings.HTTP_TIMEOUT_SECONDS,
            avatar=settings.VIBER_BOT_AVATAR,
        )
    else:
        log.warning("Viber is disabled: VIBER_AUTH_TOKEN is unset")
    return channels
