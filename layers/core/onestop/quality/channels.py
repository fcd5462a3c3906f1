"""The online rate as measured: received applications per channel (issue 18 item 3).

Each application records the channel it was made through (`applications.channels`: the caller's app
client). The measured online rate is the share of received applications made through an online
channel (web portal, city app, mini program) among those whose channel is recorded; applications made
before channels were recorded (channel None) are counted apart as `unrecorded` and never guessed.
The catalogue's promise — the share of received applications whose item can be applied for online
(online depth III/IV), `KpiFigures.online_share` — stays beside it: it says what could have been
online, this says what was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from onestop.applications.channels import CHANNEL_NAMES, ONLINE_CHANNELS, UNRECORDED, Channel

# The order the report lists them in.
CHANNEL_ORDER: tuple[str, ...] = (*(c.value for c in Channel), UNRECORDED)


class ChannelCount(BaseModel):
    """Received applications of one channel."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    channel: str
    name_zh: str
    name_en: str
    received: int
    online: bool | None = Field(description="an online channel; None for unrecorded")
    share: float | None = Field(description="of the received applications whose channel is recorded")


class ChannelFigures(BaseModel):
    """Received applications per channel and the measured online rate."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    by_channel: list[ChannelCount]
    received: int = Field(description="received in the period, every channel and unrecorded")
    recorded: int = Field(description="received with a recorded channel")
    online: int = Field(description="received through an online channel (all but the service window)")
    online_rate: float | None = Field(
        description="online / recorded: the online rate as measured (None when nothing is recorded)"
    )
    unrecorded: int = Field(description="received before channels were recorded: shown, not guessed")


def channel_of_record(channel: str | None) -> str:
    """The report's key for an application's stored channel (None: unrecorded)."""
    return channel if channel is not None and channel in CHANNEL_NAMES else UNRECORDED


def channel_figures(received: Mapping[str, int] | Counter[str]) -> ChannelFigures:
    """The figures for counts of received applications by channel key."""
    unrecorded = received.get(UNRECORDED, 0)
    recorded = sum(n for key, n in received.items() if key != UNRECORDED)
    online = sum(received.get(c.value, 0) for c in ONLINE_CHANNELS)
    rows = []
    for key in CHANNEL_ORDER:
        zh, en = CHANNEL_NAMES[key]
        count = received.get(key, 0)
        rows.append(
            ChannelCount(
                channel=key,
                name_zh=zh,
                name_en=en,
                received=count,
                online=None if key == UNRECORDED else key in {c.value for c in ONLINE_CHANNELS},
                share=None if key == UNRECORDED else _ratio(count, recorded),
            )
        )
    return ChannelFigures(
        by_channel=rows,
        received=recorded + unrecorded,
        recorded=recorded,
        online=online,
        online_rate=_ratio(online, recorded),
        unrecorded=unrecorded,
    )


def render_channels(figures: ChannelFigures) -> str:
    """One line for the text table: counts per channel and the measured rate."""
    parts = [f"{row.name_zh} {row.name_en} {row.received}" for row in figures.by_channel]
    rate = "-" if figures.online_rate is None else f"{figures.online_rate * 100:.1f}%"
    return f"渠道 Channels: {' · '.join(parts)} — 实测网办率 measured online rate {rate}"


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
