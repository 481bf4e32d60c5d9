"""The outbox provider: every message becomes an ``.eml`` file instead of leaving the machine.

It is the embedded default for development and tests. Files are laid out as
``<directory>/campaign-<id>/<key>.eml`` (or ``transactional/``) and written atomically, so a
crash never leaves half a message and sending the same key again replaces the file: the
outbox can never hold a message twice.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from core.message import OutgoingMessage
from core.mime import to_wire
from core.providers.base import ProviderError, SendResult

# Keys and campaign ids become path parts: anything else could escape the outbox directory.
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

TRANSACTIONAL_DIR = "transactional"
UNFILED_DIR = "unfiled"


class OutboxProvider:
    """Writes each message as an RFC 5322 file (CRLF line endings, as on the wire)."""

    name = "outbox"
    max_batch_size = 500
    idempotent = True

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def send_batch(
        self, messages: Sequence[OutgoingMessage], *, attempt_key: str = ""
    ) -> list[SendResult]:
        """Write every message to its file; one result per message, in order."""
        return [self._send(message) for message in messages]

    def path_for(self, message: OutgoingMessage) -> Path:
        """Where ``message`` is (or would be) written."""
        return self.directory / _folder_for(message) / f"{message.key}.eml"

    def check_access(self) -> str:
        """Prove the outbox folder can be written: create it, write a file and remove it."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.directory, prefix=".doctor-"):
                pass
        except OSError as error:
            raise ProviderError(
                f"outbox folder {self.directory} is not writable: {error}", retryable=False
            ) from error
        return f"outbox folder {self.directory.resolve()} is writable"

    def close(self) -> None:
        """Nothing to release: files are closed as soon as they are written."""

    def _send(self, message: OutgoingMessage) -> SendResult:
        problem = _unsafe_name_in(message)
        if problem:
            return SendResult(key=message.key, accepted=False, error=problem)
        data = to_wire(message)
        _write_atomically(self.path_for(message), data)
        return SendResult(key=message.key, accepted=True, provider_message_id=message.message_id)


def _folder_for(message: OutgoingMessage) -> str:
    if message.transactional:
        return TRANSACTIONAL_DIR
    campaign_id = message.metadata.get("campaign_id")
    return f"campaign-{campaign_id}" if campaign_id else UNFILED_DIR


def _unsafe_name_in(message: OutgoingMessage) -> str | None:
    campaign_id = message.metadata.get("campaign_id")
    if not _SAFE_NAME.fullmatch(message.key):
        return f"key {message.key!r} cannot be used as a file name"
    if campaign_id and not message.transactional and not _SAFE_NAME.fullmatch(campaign_id):
        return f"campaign_id {campaign_id!r} cannot be used as a folder name"
    return None


def _write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` so readers see the old file or the whole new one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        temp.replace(target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
