"""Import benchmark: N generated subscribers from a CSV file into a list on PostgreSQL.

Prints one JSON line per case: rows, seconds, rows_per_s, peak_rss_mb (of the importing
process, which runs alone in a fresh interpreter per case so the figures compare), file_mb,
and the import's counts. Usage: python bench/imports.py [--rows 100000 --rows 1000000].
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchdb import drop_postgres, fresh_postgres, point_at  # noqa: E402

from core.database import unit_of_work  # noqa: E402
from publisher.cli.processes import migrate  # noqa: E402
from subscribers.imports import create_import, run_import, summary  # noqa: E402
from tests.fixtures.factories import add_list  # noqa: E402

DEFAULT_ROWS = [100_000, 1_000_000]
LANGUAGES = ("en", "uk", "ja")
CITIES = ("Kyiv", "Tokyo", "Lviv", "Osaka", "Kharkiv")


def write_csv(path: Path, rows: int) -> None:
    """A realistic file: mixed scripts, a time zone, two free attribute columns."""
    with path.open("w", encoding="utf-8") as file:
        file.write("email,name,language,timezone,city,organisation\n")
        for n in range(rows):
            language = LANGUAGES[n % 3]
            file.write(
                f"reader{n}@example{n % 50}.org,Олена Коваленко {n},{language},Europe/Kyiv,"
                f'{CITIES[n % 5]},"Centre for Policy, No. {n % 97}"\n'
            )


def run_case(rows: int, folder: Path) -> dict[str, object]:
    """Generate, import into a fresh database, measure (in this process)."""
    source = folder / "subscribers.csv"
    write_csv(source, rows)
    database = fresh_postgres()
    try:
        point_at(database)
        migrate()
        with unit_of_work() as session:
            add_list(session, "news")
        with unit_of_work() as session:
            job_id = create_import(session, list_slug="news", file_name=source.name, path=source).id
        baseline = _peak_rss_mb()
        started = time.monotonic()
        with unit_of_work() as session:
            result = summary(run_import(session, job_id))
        seconds = time.monotonic() - started
    finally:
        drop_postgres(database)
    return {
        "case": "postgres",
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_import_mb": baseline,
        "file_mb": round(source.stat().st_size / 2**20, 1),
        "added": result["added"],
        "rejected": result["rejected"],
        "status": result["status"],
    }


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main() -> None:
    """Each --rows case in its own interpreter (so peak memory is that case's alone)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, action="append", default=[])
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.single:
        with tempfile.TemporaryDirectory() as folder:
            print(json.dumps(run_case(options.rows[0], Path(folder))), flush=True)
        return
    for rows in options.rows or DEFAULT_ROWS:
        subprocess.run([sys.executable, __file__, "--single", "--rows", str(rows)], check=True)


if __name__ == "__main__":
    main()
