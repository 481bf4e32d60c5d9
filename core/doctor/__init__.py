"""``herald doctor``'s checks: can this install send, and will mailbox providers trust it?

Each check answers with one :class:`~core.doctor.checks.Check` (ok, warn or fail, and why):
settings, database and migrations, broker, the web process (:mod:`core.doctor.checks`),
provider credentials (:mod:`core.doctor.provider`) and the From domain's DNS records
(:mod:`core.doctor.domain`).
"""
