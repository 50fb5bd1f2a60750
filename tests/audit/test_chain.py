"""The audit chain: appends never fork; `vigil audit verify` names the first tampered row.

Each tampering test edits the database directly with SQL, as an insider with database access
would, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from vigil.audit.log import AuditLog, row_hash
from vigil.audit.verify import verify_chain
from vigil.cli import app
from vigil.store.db import Store
from vigil.store.tables import AuditRow


def _fill(store: Store, data: Path, n: int = 20) -> AuditLog:
    audit = AuditLog(store, data, anchor_every=1000)
    for i in range(n):
        audit.append(
            f"user{i % 3}",
            "events.search",
            "event",
            purpose=f"case {i}",
            client="::1",
            details={"query": {"camera": "lobby"}, "n": i},
        )
    return audit


def _sql(store: Store, statement: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def _problem(store: Store, data: Path) -> str:
    verdict = verify_chain(store, data)
    assert not verdict.ok
    assert verdict.problem is not None
    return verdict.problem


def test_an_untouched_chain_verifies(store: Store, tmp_path: Path) -> None:
    _fill(store, tmp_path)
    verdict = verify_chain(store, tmp_path)
    assert verdict.ok and verdict.rows == 20 and verdict.head_id == 20


def test_update_is_caught(store: Store, tmp_path: Path) -> None:
    _fill(store, tmp_path)
    _sql(store, "UPDATE audit_log SET purpose = 'nothing to see' WHERE id = 7")
    assert _problem(store, tmp_path) == "audit row 7 was modified (hash mismatch)"


def test_update_of_details_or_time_is_caught(store: Store, tmp_path: Path) -> None:
    _fill(store, tmp_path)
    _sql(store, "UPDATE audit_log SET actor = 'someone else' WHERE id = 12")
    assert "audit row 12 was modified" in _problem(store, tmp_path)


def test_delete_is_caught(store: Store, tmp_path: Path) -> None:
    _fill(store, tmp_path)
    _sql(store, "DELETE FROM audit_log WHERE id = 9")
    assert _problem(store, tmp_path) == (
        "audit row 9 is missing or rows were reordered: prev_hash of row 10 does not match row 8"
    )


def test_deleting_the_oldest_rows_is_caught(store: Store, tmp_path: Path) -> None:
    _fill(store, tmp_path)
    _sql(store, "DELETE FROM audit_log WHERE id <= 3")
    assert "audit rows 1-3 are missing" in _problem(store, tmp_path)


def test_insert_with_a_recomputed_hash_is_caught(store: Store, tmp_path: Path) -> None:
    """A forged row in place of a deleted one, with a hash computed the way Vigil does."""
    _fill(store, tmp_path)
    with store.session() as s, s.begin():
        original = s.get(AuditRow, 5)
        assert original is not None
        s.delete(original)
        s.flush()
        prev = s.get(AuditRow, 4)
        assert prev is not None
        forged = AuditRow(
            id=5,
            at=original.at,
            actor="ghost",
            action="events.search",
            object_type="event",
            object_id=None,
            purpose="forged",
            client=None,
            details={},
            prev_hash=prev.hash,
        )
        forged.hash = row_hash(forged)
        s.add(forged)
    assert _problem(store, tmp_path) == (
        "audit row 6 was inserted or rows were reordered: prev_hash of row 6 does not match row 5"
    )


def test_insert_at_the_end_with_a_bad_hash_is_caught(store: Store, tmp_path: Path) -> None:
    _fill(store, tmp_path)
    _sql(
        store,
        "INSERT INTO audit_log (id, at, actor, action, details, prev_hash, hash) "
        "VALUES (21, '2030-01-01 00:00:00', 'ghost', 'x', '{}', :p, :h)",
        p="0" * 64,
        h="f" * 64,
    )
    assert _problem(store, tmp_path) == "audit row 21 was modified (hash mismatch)"


def test_swapping_two_rows_is_caught(store: Store, tmp_path: Path) -> None:
    _fill(store, tmp_path)
    _sql(store, "UPDATE audit_log SET id = -1 WHERE id = 11")
    _sql(store, "UPDATE audit_log SET id = 11 WHERE id = 12")
    _sql(store, "UPDATE audit_log SET id = 12 WHERE id = -1")
    assert _problem(store, tmp_path) == (
        "audit row 11 was inserted or rows were reordered: prev_hash of row 11 does not match "
        "row 10"
    )


def test_cutting_off_the_tail_is_caught_by_the_anchor(store: Store, tmp_path: Path) -> None:
    audit = _fill(store, tmp_path)
    audit.anchor()
    _sql(store, "DELETE FROM audit_log WHERE id > 15")
    problem = _problem(store, tmp_path)
    assert "truncated" in problem and "records row 20" in problem and "ends at row 15" in problem


def test_rewriting_the_whole_chain_is_caught_by_the_anchor(store: Store, tmp_path: Path) -> None:
    audit = _fill(store, tmp_path, 5)
    audit.anchor()
    _sql(store, "DELETE FROM audit_log")
    forger = Store(store.url)  # the insider's own connection
    _fill(forger, tmp_path / "elsewhere", 5)  # a fresh, self-consistent chain
    forger.close()
    assert "audit row 5 does not match its anchor" in _problem(store, tmp_path)


def test_anchors_are_written_every_n_appends_and_append_only(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    audit = AuditLog(store, tmp_path, anchor_every=5)
    for _ in range(12):
        audit.append("system:test", "x")
    lines = (tmp_path / "audit-anchors.log").read_text().splitlines()
    assert [line.count('"id":') for line in lines] == [1, 1]
    assert '"id":5' in lines[0] and '"id":10' in lines[1]
    store.close()


def test_concurrent_appends_never_fork(store: Store, tmp_path: Path) -> None:
    logs = [AuditLog(Store(store.url), None) for _ in range(4)]  # separate engines, like processes

    def work(log: AuditLog) -> None:
        for _ in range(25):
            log.append("system:race", "x")

    threads = [threading.Thread(target=work, args=(log,)) for log in logs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for log in logs:
        log.store.close()
    verdict = verify_chain(store)
    assert verdict.ok, verdict.problem
    assert verdict.rows == 100 and verdict.head_id == 100


def test_cli_verify_exits_non_zero_naming_the_row(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    _fill(store, tmp_path)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--data", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert "audit chain ok: 20 rows" in ok.output
    _sql(store, "UPDATE audit_log SET purpose = 'x' WHERE id = 17")
    bad = runner.invoke(app, ["audit", "verify", "--data", str(tmp_path)])
    assert bad.exit_code == 1
    assert "audit row 17 was modified (hash mismatch)" in bad.output
    store.close()


def test_cli_verify_without_a_database_says_how(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["audit", "verify", "--data", str(tmp_path / "none")])
    assert r.exit_code == 2 and "no Vigil database" in r.output
