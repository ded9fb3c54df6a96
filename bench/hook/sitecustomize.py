"""Loaded at start-up by every birthlink process the engine bench starts (its
directory is put first on PYTHONPATH): counts the SQL statements each process
sends through SQLAlchemy (one per cursor execute; an executemany is one), and
its commits and rollbacks, and keeps them in `$BENCH_SQL_COUNTS/<pid>.json`.

SQLAlchemy's events work the same for PostgreSQL and SQLite, for the engine of
any commit, so the two commits under test are counted alike. The file is
rewritten only when a count changed, from a daemon thread, so an idle process
costs nothing more."""

import os

if os.environ.get("BENCH_SQL_COUNTS"):
    import atexit
    import json
    import threading
    from pathlib import Path
    from typing import Any

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    _counts = {"statements": 0, "commits": 0, "rollbacks": 0}
    _out = Path(os.environ["BENCH_SQL_COUNTS"]) / f"{os.getpid()}.json"

    @event.listens_for(Engine, "before_cursor_execute")
    def _statement(*_args: Any, **_kw: Any) -> None:
        _counts["statements"] += 1

    @event.listens_for(Engine, "commit")
    def _commit(*_args: Any) -> None:
        _counts["commits"] += 1

    @event.listens_for(Engine, "rollback")
    def _rollback(*_args: Any) -> None:
        _counts["rollbacks"] += 1

    def _write() -> None:
        tmp = _out.with_suffix(".tmp")
        tmp.write_text(json.dumps(_counts))
        os.replace(tmp, _out)

    def _keep_written() -> None:
        written: dict[str, int] = {}
        while True:
            if written != _counts:
                written = dict(_counts)
                _write()
            threading.Event().wait(0.2)

    threading.Thread(target=_keep_written, name="bench-sql-counts", daemon=True).start()
    atexit.register(_write)
