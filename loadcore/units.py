"""The time unit shared by every stage: a trace count column, a load.json unit and a replay
unit each cover one minute or one second (`--granularity`)."""

from enum import Enum


class Granularity(str, Enum):
    minute = "minute"
    second = "second"


UNIT_US = {Granularity.minute.value: 60_000_000, Granularity.second.value: 1_000_000}
"""Length of a unit in µs, by granularity name."""
