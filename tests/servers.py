"""The real servers tests start: see eldercare/servers.py (the benchmark uses them too)."""

from eldercare.servers import (
    Mosquitto,
    Postgres,
    ServerUnavailable,
    free_port,
    start_mosquitto,
    start_postgres,
    temporary_folder,
)

__all__ = ["Mosquitto", "Postgres", "ServerUnavailable", "free_port", "start_mosquitto",
           "start_postgres", "temporary_folder"]
