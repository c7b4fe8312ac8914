"""What every use case needs: settings, database, blobs, clock. Built once by `jiyao/`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.clock import Clock, system_clock
from core.config import Settings
from core.files import private_dir
from core.storage.blobs import BlobStore
from core.storage.db import DB_FILE, Database

if TYPE_CHECKING:  # dkimpy and dnspython only where mail is verified (the pipeline)
    from core.verification import DnsFn

BLOB_DIR = "blobs"


@dataclass
class Context:
    settings: Settings
    db: Database
    blobs: BlobStore
    clock: Clock = field(default=system_clock)
    #: DKIM's DNS look-up (dkimpy's `dnsfunc`); None: the system resolver. Tests pass one.
    dkim_dns: DnsFn | None = None

    @property
    def data_dir(self) -> Path:
        return self.settings.storage.data_dir


async def open_context(settings: Settings, *, clock: Clock = system_clock) -> Context:
    """Create the data directory if needed, open and migrate the database."""
    data_dir = settings.storage.data_dir
    private_dir(data_dir / BLOB_DIR)
    db = await Database(data_dir / DB_FILE).open()
    return Context(settings=settings, db=db, blobs=BlobStore(data_dir / BLOB_DIR), clock=clock)
