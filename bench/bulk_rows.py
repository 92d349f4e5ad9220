"""How readings are best written in bulk: one INSERT per row, one INSERT of arrays, or COPY.

Starts a durable PostgreSQL (as ingest runs it), creates the schema, and writes batches of
``--rows`` telemetry rows (default 1000) for ``--batches`` transactions each way, new readings
every time, all with ``ON CONFLICT DO NOTHING`` semantics (a redelivered reading is skipped):

- ``executemany``: one parameterised INSERT per row, pipelined by psycopg;
- ``unnest``: one INSERT ... SELECT FROM unnest(arrays);
- ``copy``: COPY into a staging table, then INSERT ... SELECT (``store.batch._copy_new``, what
  ingest uses from ``COPY_FROM`` rows).

Prints wall time and the client's CPU per row for each. Usage::

    .venv/bin/python bench/bulk_rows.py [--rows 1000] [--batches 20]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eldercare.servers import start_postgres
from store.batch import _TELEMETRY, _copy_new
from store.database import prepare

ROW_SQL = (f"INSERT INTO telemetry ({_TELEMETRY}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
           " ON CONFLICT DO NOTHING")
ARRAY_SQL = (f"INSERT INTO telemetry ({_TELEMETRY}) SELECT * FROM unnest(%s::text[],"
             " %s::bigint[], %s::timestamptz[], %s::smallint[], %s::smallint[], %s::real[],"
             " %s::integer[], %s::smallint[], %s::boolean[]) ON CONFLICT DO NOTHING")


async def _write(conn: psycopg.AsyncConnection[Any], how: str, rows: list[tuple[Any, ...]]) -> None:
    async with conn.transaction(), conn.cursor() as cur:
        if how == "executemany":
            await cur.executemany(ROW_SQL, rows)
        elif how == "unnest":
            await cur.execute(ARRAY_SQL, [list(column) for column in zip(*rows, strict=True)])
        else:
            await _copy_new(cur, "telemetry", _TELEMETRY, rows)


async def _run(rows_per_batch: int, batches: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bulk-rows-"))
    os.chmod(folder, 0o755)  # the postgres user must reach its data directory when run as root
    pg = start_postgres(folder / "pg", durable=True)
    try:
        url = pg.url()
        await prepare(url)
        async with await psycopg.AsyncConnection.connect(url) as conn:
            now = dt.datetime.now(dt.UTC)
            seq = 0
            for round_ in range(2):  # the first round warms the caches; the second is printed
                for how in ("executemany", "unnest", "copy"):
                    batches_rows = []
                    for _ in range(batches):
                        batches_rows.append([
                            (f"watch-{i}", seq + i, now + dt.timedelta(milliseconds=seq + i),
                             70, 97, 33.1, 100, 80, True) for i in range(rows_per_batch)])
                        seq += rows_per_batch
                    wall, cpu = time.perf_counter(), time.process_time()
                    for rows in batches_rows:
                        await _write(conn, how, rows)
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    if round_:
                        n = batches * rows_per_batch
                        print(f"{how:12s} {rows_per_batch:5d} rows a batch: {wall / n * 1e6:6.1f} µs"
                              f" a row, client CPU {cpu / n * 1e6:5.1f} µs a row")
    finally:
        pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(_run(args.rows, args.batches))


if __name__ == "__main__":
    main()
