"""Every table of Herald, registered on ``Base.metadata`` by importing this one module.

Migrations and the schema test import it, so a table whose module is listed here can never
be left out of either. A new model module is added here.
"""

from __future__ import annotations

import core.activity
import core.audit
import core.ratelimit
import publisher.models
import publisher.segments
import publisher.stats.models
import publisher.users
import subscribers.imports
import subscribers.models
from core.database import Base

MODEL_MODULES = (
    core.activity,
    core.audit,
    core.ratelimit,
    subscribers.models,
    subscribers.imports,
    publisher.models,
    publisher.segments,
    publisher.users,
    publisher.stats.models,
)
metadata = Base.metadata
