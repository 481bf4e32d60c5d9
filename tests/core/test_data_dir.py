"""The data directory: the embedded defaults follow ``HERALD_DATA_DIR`` unless set explicitly,
and stay what they always were while it is the default ``var``."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import heartbeat
from core.settings import Settings
from publisher.cli import processes
from subscribers.imports import save_upload, upload_dir
from tests.conftest import use_settings

DERIVED = ("HERALD_DATABASE_URL", "HERALD_BROKER_URL", "HERALD_OUTBOX_DIR")


def _settings(monkeypatch: pytest.MonkeyPatch, **values: str) -> Settings:
    for name in (*DERIVED, "HERALD_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(f"HERALD_{name.upper()}", value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_default_data_dir_keeps_the_old_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(monkeypatch)
    assert settings.data_dir == Path("var")
    assert settings.database_url == "sqlite:///var/herald.sqlite"
    assert settings.broker_url == "sqla+sqlite:///var/broker.sqlite"
    assert settings.outbox_dir == Path("var/outbox")


def test_the_embedded_defaults_follow_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = _settings(monkeypatch, data_dir=str(tmp_path))
    assert settings.database_url == f"sqlite:///{tmp_path}/herald.sqlite"
    assert settings.broker_url == f"sqla+sqlite:///{tmp_path}/broker.sqlite"
    assert settings.outbox_dir == tmp_path / "outbox"


def test_an_explicit_setting_wins_over_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = _settings(
        monkeypatch,
        data_dir=str(tmp_path),
        database_url="postgresql+psycopg://herald@db/herald",
        outbox_dir="/srv/outbox",
    )
    assert settings.database_url == "postgresql+psycopg://herald@db/herald"
    assert settings.outbox_dir == Path("/srv/outbox")
    assert settings.broker_url == f"sqla+sqlite:///{tmp_path}/broker.sqlite"


def test_uploaded_imports_wait_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_settings(monkeypatch, data_dir=str(tmp_path / "data"))
    path = save_upload(iter([b"email\n", b"ada@example.org\n"]))
    assert upload_dir() == tmp_path / "data" / "imports"
    assert path.parent == upload_dir()
    assert path.read_bytes() == b"email\nada@example.org\n"


def test_heartbeats_and_beat_schedules_live_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    use_settings(monkeypatch, data_dir=str(folder))
    heartbeat.beat(heartbeat.SCHEDULER)
    assert (folder / "heartbeat" / "scheduler").is_file()
    assert heartbeat.last_beat(heartbeat.SCHEDULER) is not None
    scheduler = processes.scheduler_command()
    assert scheduler[scheduler.index("--schedule") + 1] == str(folder / "beat-schedule")
    worker = processes.worker_command(beat=True)
    assert worker[worker.index("--schedule") + 1] == str(folder / "worker-beat-schedule")
