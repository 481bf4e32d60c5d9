"""Statistics tasks: follow the activity and event logs into aggregates; outgoing webhooks."""

from __future__ import annotations
