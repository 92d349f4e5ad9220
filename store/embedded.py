"""An embedded PostgreSQL for laptops and the demo, from the pip-installed ``pgserver`` package.

``pgserver`` ships PostgreSQL binaries in its wheel, runs ``initdb`` into a data folder of ours and
listens on a Unix socket only (nothing is exposed on the network). As root it runs the server as a
dedicated system user, because PostgreSQL refuses to run as root.

>>> # with EmbeddedPostgres(Path("var/pg")) as url: ...   (starts in about two seconds)
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any

from store.errors import StoreError

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._server: Any = None

    def start(self) -> str:
        """Start (or attach to) the server and return its connection URL."""
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells); harmless here.
            warnings.simplefilter("ignore")
            try:
                import pgserver
            except ImportError as err:  # pragma: no cover - it is a declared dependency
                raise StoreError("the embedded database needs the 'pgserver' package") from err
            self._data_dir.mkdir(parents=True, exist_ok=True)
            try:
                self._server = pgserver.get_server(  # type: ignore[attr-defined]
                    self._data_dir, cleanup_mode="stop")
            except Exception as err:
                raise StoreError(f"embedded PostgreSQL did not start in {self._data_dir}: {err}") from err
            url: str = self._server.get_uri()
        log.info("embedded PostgreSQL at %s", url)
        return url

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
