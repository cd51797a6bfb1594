"""Our app through the shim, on an in-memory store of its own in every worker process.

The embedded store has one owner process (chalicelib/embedded.py), so it cannot
serve the two workers every server gets in ``bench/shim.py``. Each worker that
imports this module builds the app exactly as production does (the composition
root), on a plain in-memory mongomock loaded with the demo data set: a feed read
does the same queries and the same Python work as on the embedded store, whose
journal only ever sees writes.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import mongomock

from chalicelib import composition
from chalicelib.settings import Settings
from ec2.shim import Shim, ShimConfig

_data_dir = tempfile.mkdtemp(prefix="snapboard-bench-")
atexit.register(shutil.rmtree, _data_dir, ignore_errors=True)
_settings = composition.with_kept_dev_keys(
    Settings.from_env(
        {
            "DATA_DIR": _data_dir,
            "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
        }
    )
)
_clients = composition.Clients(_settings, mongo_client=mongomock.MongoClient(tz_aware=True))
composition.seed_demo(_clients)

application = Shim(composition.create_app(_clients), ShimConfig.load(os.environ))
