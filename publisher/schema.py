"""Every table of Herald, registered on ``Base.metadata`` by importing this one module.

Migrations and the schema test import it, so a table whose module is listed here can never
be left out of either. A new model module is added here.
"""

from __future__ import annotations

import core.activity
import core.audit
import core.ratelimit
import publisher.accounts.models
import publisher.audience.segments
import publisher.campaigns.models
import publisher.posts.models
import publisher.sending.models
import publisher.stats.models
import publisher.tracking.models
import publisher.webhooks.models
import subscribers.imports
import subscribers.models
from core.database import Base

MODEL_MODULES = (
    core.activity,
    core.audit,
    core.ratelimit,
    subscribers.models,
    subscribers.imports,
    publisher.posts.models,
    publisher.campaigns.models,
    publisher.sending.models,
    publisher.tracking.models,
    publisher.webhooks.models,
    publisher.audience.segments,
    publisher.accounts.models,
    publisher.stats.models,
)
metadata = Base.metadata
