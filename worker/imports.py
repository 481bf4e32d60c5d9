"""Imports: a CSV file uploaded on the admin pages, imported into a list by a worker."""

from __future__ import annotations

from core.database import new_session
from subscribers.imports import ImportJob, discard_upload, run_import


def import_subscribers(job_id: int) -> None:
    """Run an import job (committing per chunk), then remove its uploaded file."""
    session = new_session()
    try:
        job = session.get(ImportJob, job_id)
        if job is None or job.finished:
            return
        try:
            run_import(session, job_id)
        finally:
            discard_upload(session.get_one(ImportJob, job_id))
    finally:
        session.close()
