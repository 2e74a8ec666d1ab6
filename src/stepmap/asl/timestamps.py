"""RFC 3339 timestamps as ASL uses them (Wait ``Timestamp``, Choice ``Timestamp*``, the context object).

AWS accepts ``2016-03-14T01:59:00Z`` and offsets such as ``+01:00``; the ``T`` and ``Z`` must be upper case.
Output timestamps follow AWS's context-object form: UTC, milliseconds, trailing fractional zeros dropped.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["format_timestamp", "is_timestamp", "parse_timestamp"]

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$",
)


def parse_timestamp(text: object) -> datetime | None:
    """The aware datetime ``text`` denotes, or None when it is not an RFC 3339 timestamp."""
    if not isinstance(text, str):
        return None
    m = _RFC3339.match(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7), m.group(8)
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    if zone == "Z":
        tz: timezone = UTC
    else:
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            return None
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        return None


def is_timestamp(text: object) -> bool:
    return parse_timestamp(text) is not None


def format_timestamp(moment: datetime) -> str:
    """AWS's context-object form: ``2019-03-26T20:14:13.192Z`` (trailing fractional zeros dropped)."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    millis = moment.microsecond // 1000
    if millis:
        text += ("." + f"{millis:03d}").rstrip("0")
    return text + "Z"
