"""Two chain replicas on one PostgreSQL database: one produces blocks, the other stands by.

Design (docs/chain.md, "Failover"):

* **Leadership is a PostgreSQL session advisory lock** (``pg_try_advisory_lock(LOCK_NS,
  LOCK_ID)``; advisory locks are per database, so one chain per database) held on the leader's
  own connection (:class:`Fence`). PostgreSQL releases it when that session ends: a killed
  process's socket closes and its backend exits at once.
* **Every block is committed through that connection** (``Storage.fence``). The commit
  transaction first checks, in the same transaction, that this session still holds the lock
  (``pg_locks`` for ``pg_backend_pid()``) and that the ``leader`` row still names this
  replica's epoch (``SELECT ... FOR UPDATE``); then the block's writes; then the epoch's
  ``leader/<epoch>`` row (last block) and the heartbeat (the database's clock). A session-level
  lock is only lost when its session ends, and then its open transaction is aborted: a block is
  committed only while its producer leads. SQLAlchemy never reconnects the fenced connection
  behind our back (an invalidated connection is :class:`~.storage.FenceLost`), and a new
  session would fail the ``pg_locks`` check anyway.
* **A paused or partitioned leader** keeps its session (and its lock) open. The standby watches
  the heartbeat the leader writes every ``takeover_after / 4`` seconds; after ``takeover_after``
  seconds without one (by the database's clock) it ends the holder's session with
  ``pg_terminate_backend`` (same database role), takes the lock, bumps the epoch, loads the
  state of the last committed block and produces the next. The old leader, when it runs again,
  finds its connection gone: its commit fails before writing anything, it drops its queue and
  stands by (log: ``lost leadership``).
* **The standby serves readers** from the database: every poll it loads the committed head
  and state in one REPEATABLE READ snapshot (it may lag the leader by a poll), and it forwards
  submitted extrinsics to the leader's advertised URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import sqlalchemy as sa

from .block import BlockRecord
from .ledger import Ledger
from .node import RECENT_BLOCKS_STORED, Node
from .params import ChainConfig
from .state import State
from .storage import FenceLost, Storage, database_url

log = logging.getLogger("subnetes.chain.failover")
LOCK_NS = 0x53424E54  # "SBNT": the advisory lock's first key (int4)
LOCK_ID = 1  # the second key: the chain of this database
LOCK_SQL = f"pg_try_advisory_lock({LOCK_NS}, {LOCK_ID})"
# the lock in pg_locks: the two-int4 form shows as classid/objid with objsubid 2
HOLDER_SQL = f"""
SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
  AND classid = {LOCK_NS} AND objid = {LOCK_ID} AND objsubid = 2
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
HELD_SQL = HOLDER_SQL + " AND pid = pg_backend_pid()"
UPSERT_SQL = (
    "INSERT INTO chain_meta (key, value) VALUES (:k, :v) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
HEARTBEAT_SQL = (
    "INSERT INTO chain_meta (key, value) VALUES "
    "('leader_heartbeat', extract(epoch from clock_timestamp())::text) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
EPOCH_SQL = """
UPDATE chain_meta SET value = json_build_object(
  'node', CAST(:node AS text), 'url', CAST(:url AS text),
  'first_block', CAST(:first AS bigint), 'last_block', (SELECT max(number) FROM chain_blocks)
)::text WHERE key = :k
"""
# keepalives on the fenced session: the server notices a vanished peer within about a minute
# even without the standby (the standby's pg_terminate_backend is the bound that counts)
SESSION_SQL = (
    "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3"
)


def failover_target(db: str | None) -> str:
    """``db`` if failover can use it (a PostgreSQL URL), else ValueError."""
    if not db or not database_url(db).startswith("postgresql"):
        raise ValueError("--failover needs PostgreSQL storage (--db postgresql://...)")
    return db


def takeover_bound(block_time: float, takeover_after: float | None) -> float:
    """Seconds without a leader heartbeat before the standby takes over (default: 5 block
    times, at least 2 s)."""
    if takeover_after is not None:
        if takeover_after <= 0:
            raise ValueError("--takeover-after must be positive")
        return takeover_after
    return max(5 * block_time, 2.0)


class Fence:
    """The leader lock and the connection that holds it (one per replica).

    Standing by, the connection only probes the lock and the heartbeat; holding the lock, it is
    the only connection block commits go through (:meth:`begin`)."""

    def __init__(self, db: str, node_id: str, url: str) -> None:
        # NullPool: closing a connection ends its session (and releases the lock) for real
        # client keepalives too: a leader cut off from the database notices (its commit fails)
        self.engine = sa.create_engine(
            database_url(db),
            poolclass=sa.pool.NullPool,
            connect_args={
                "connect_timeout": 10,
                "keepalives": 1,
                "keepalives_idle": 10,
                "keepalives_interval": 5,
                "keepalives_count": 3,
            },
        )
        self.node_id, self.url = node_id, url
        self.conn: sa.Connection | None = None
        self.epoch = 0
        self.first_block = 0
        self.held = False
        self._mutex = threading.Lock()  # one transaction at a time on the connection
        self._no_heartbeat_since: tuple[int, float] | None = None

    def _connection(self) -> sa.Connection:
        if self.conn is None or self.conn.closed or self.conn.invalidated:
            self.conn = self.engine.connect()
            self.conn.exec_driver_sql(SESSION_SQL)
            self.conn.commit()
        return self.conn

    def try_acquire(self) -> bool:
        """Take the lock if it is free (True: this replica may lead)."""
        with self._mutex:
            conn = self._connection()
            try:
                self.held = bool(conn.execute(sa.text(f"SELECT {LOCK_SQL}")).scalar())
                conn.commit()
            except sa.exc.DBAPIError:
                self._drop()
                raise
            return self.held

    def _locked_leader_row(self, conn: sa.Connection) -> str | None:
        """After checking this session holds the lock: the ``leader`` row, locked for the rest
        of the transaction (so no other epoch can be claimed meanwhile)."""
        self._check_lock(conn)
        row: str | None = conn.execute(
            sa.text("SELECT value FROM chain_meta WHERE key = 'leader' FOR UPDATE")
        ).scalar()
        return row

    def claim(self, head: int) -> int:
        """With the lock held: the next epoch, named in ``leader`` (the fencing token every
        commit checks) and in a ``leader/<epoch>`` row of its own. Returns the epoch."""
        with self._mutex:
            conn = self._live()
            with self._lost_on_error(), conn.begin():
                row = self._locked_leader_row(conn)
                epoch = (json.loads(row)["epoch"] if row else 0) + 1
                value = json.dumps({"epoch": epoch, "node": self.node_id, "url": self.url})
                conn.execute(sa.text(UPSERT_SQL), {"k": "leader", "v": value})
                conn.execute(sa.text(UPSERT_SQL), {"k": f"leader/{epoch}", "v": "{}"})
                self.epoch, self.first_block = epoch, head + 1
                self._mark(conn)
            return epoch

    @contextlib.contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A transaction that commits only while this replica leads: the lock and the epoch are
        checked first, the heartbeat and the epoch's last block written last."""
        with self._mutex:
            conn = self._live()
            with self._lost_on_error(), conn.begin():
                row = self._locked_leader_row(conn)
                if row is None or json.loads(row)["epoch"] != self.epoch:
                    raise FenceLost(f"leader epoch {self.epoch} is over (now {row})")
                yield conn
                self._mark(conn)

    def heartbeat(self) -> None:
        """Prove this replica still leads (a transaction through :meth:`begin`)."""
        with self.begin():
            pass

    def _mark(self, conn: sa.Connection) -> None:
        conn.execute(sa.text(HEARTBEAT_SQL))
        conn.execute(
            sa.text(EPOCH_SQL),
            {
                "node": self.node_id,
                "url": self.url,
                "first": self.first_block,
                "k": f"leader/{self.epoch}",
            },
        )

    def _live(self) -> sa.Connection:
        conn = self.conn
        if not self.held or conn is None or conn.closed or conn.invalidated:
            self.held = False
            raise FenceLost("the connection holding the leader lock is gone")
        return conn

    @staticmethod
    def _check_lock(conn: sa.Connection) -> None:
        if conn.execute(sa.text(HELD_SQL)).first() is None:
            raise FenceLost("this session no longer holds the leader lock")

    @contextlib.contextmanager
    def _lost_on_error(self) -> Iterator[None]:
        """A failed statement on the fenced connection (ended by the standby, the database
        restarted, the network cut) means the lock may be gone: FenceLost, connection dropped."""
        try:
            yield
        except FenceLost:
            self._drop()
            raise
        except sa.exc.DBAPIError as e:
            self._drop()
            raise FenceLost(f"the leader connection failed: {_first_line(e)}") from e

    def _drop(self) -> None:
        self.held = False
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.invalidate()
            with contextlib.suppress(Exception):
                self.conn.close()
        self.conn = None

    def release(self) -> None:
        """Give the lock up (end the session)."""
        with self._mutex:
            self._drop()

    def holder(self) -> tuple[int | None, float | None]:
        """(pid of the session holding the lock, seconds since the leader's last heartbeat by
        the database's clock); the age counts from now when the holder never wrote one."""
        with self._mutex:
            conn = self._connection()
            try:
                pid = conn.execute(sa.text(HOLDER_SQL)).scalar()
                now = conn.execute(sa.text("SELECT extract(epoch from clock_timestamp())")).scalar()
                beat = None
                if conn.execute(sa.text("SELECT to_regclass('chain_meta')")).scalar():
                    beat = conn.execute(
                        sa.text("SELECT value FROM chain_meta WHERE key = 'leader_heartbeat'")
                    ).scalar()
                conn.commit()
            except sa.exc.DBAPIError:
                self._drop()
                raise
        if pid is None or now is None:
            return None, None
        now = float(now)
        if beat is not None:
            self._no_heartbeat_since = None
            return int(pid), now - float(beat)
        if self._no_heartbeat_since is None or self._no_heartbeat_since[0] != pid:
            self._no_heartbeat_since = (int(pid), now)
        return int(pid), now - self._no_heartbeat_since[1]

    def terminate(self, pid: int) -> bool:
        """End the stale leader's session (its lock goes with it)."""
        with self._mutex:
            conn = self._connection()
            ok = bool(
                conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            )
            conn.commit()
            return ok

    def leader_url(self) -> str | None:
        """The advertised URL of the replica that leads now (from the ``leader`` row)."""
        with self._mutex:
            conn = self._connection()
            try:
                row = conn.execute(
                    sa.text("SELECT value FROM chain_meta WHERE key = 'leader'")
                ).scalar()
                conn.commit()
            except sa.exc.DBAPIError:
                self._drop()
                raise
        return json.loads(row)["url"] if row else None

    def ready_for_standby(self) -> bool:
        """Whether the database holds a chain yet (the leader creates it)."""
        with self._mutex:
            conn = self._connection()
            found = conn.execute(sa.text("SELECT to_regclass('chain_meta')")).scalar()
            if found:
                found = conn.execute(
                    sa.text("SELECT 1 FROM chain_meta WHERE key = 'config'")
                ).scalar()
            conn.commit()
            return bool(found)

    def close(self) -> None:
        self.release()
        self.engine.dispose()


def _first_line(e: BaseException) -> str:
    cause = getattr(e, "orig", None) or e
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


def load_snapshot(
    storage: Storage, config: ChainConfig, after: int
) -> tuple[State, list[BlockRecord]] | None:
    """The committed head's state and the blocks after ``after`` (at most the window a node with
    storage keeps, RECENT_BLOCKS_STORED: older ones it reads back from the database), read in
    one REPEATABLE READ snapshot; None when the head is not past ``after``."""
    from .storage import blocks, state_tbl

    with storage.engine.connect().execution_options(isolation_level="REPEATABLE READ") as c:
        head = c.execute(sa.select(sa.func.max(blocks.c.number))).scalar()
        if head is None or head <= after:
            return None
        start = max(after + 1, head - RECENT_BLOCKS_STORED + 1)
        rows = c.execute(
            sa.select(blocks.c.record).where(blocks.c.number >= start).order_by(blocks.c.number)
        ).all()
        chunks = {k: bytes(v) for k, v in c.execute(sa.select(state_tbl.c.key, state_tbl.c.value))}
    records = [BlockRecord.from_json(json.loads(r[0])) for r in rows]
    state = State.load(config, chunks)
    if state.g.block != records[-1].number:
        raise RuntimeError(f"snapshot state at block {state.g.block} != head {records[-1].number}")
    return state, records


async def open_replica_ledger(
    config: ChainConfig, db: str, fence: Fence, poll: float
) -> tuple[Ledger, bool]:
    """Open the chain as leader (the lock was free: create the chain if the database is new)
    or as standby (once the leader has created it). Returns (ledger, leads)."""
    while True:
        if await asyncio.to_thread(fence.try_acquire):
            ledger = await asyncio.to_thread(Ledger.open, config, db)
            return ledger, True
        if await asyncio.to_thread(fence.ready_for_standby):
            return await asyncio.to_thread(_open_following, config, db), False
        log.info("waiting for the leader to create the chain")
        await asyncio.sleep(poll)


def _open_following(config: ChainConfig, db: str) -> Ledger:
    """Open the chain while the leader commits: Ledger reads the head and the state in separate
    queries, so a block committed between them looks like a corrupt database; read again."""
    storage = Storage(db)
    try:
        for attempt in range(50):
            try:
                return Ledger(config, storage)
            except RuntimeError as e:
                if "storage corrupt: head" not in str(e) or attempt == 49:
                    raise
                time.sleep(0.02)
        raise AssertionError("unreachable")
    except BaseException:
        storage.close()
        raise


class Replica:
    """One of two chain replicas: leads (produces blocks through the fence, heartbeats) or
    stands by (follows the database, serves reads, forwards submissions, takes over)."""

    def __init__(self, node: Node, fence: Fence, takeover_after: float, leads: bool) -> None:
        self.node, self.fence = node, fence
        self.takeover_after = takeover_after
        # how often the standby probes the lock (a killed leader's lock is free at once) and
        # follows the database: each block, at least every second
        self.poll = min(node.block_time, takeover_after / 4, 1.0)
        self._stale = False  # our in-memory state may be a failed block's: reload it all
        self.role = "leader" if leads else "standby"
        self.leader_gauge = node.metrics.leader
        self.leader_gauge.set(0)
        self.takeovers = 0
        self.warm = asyncio.Event()  # set once the epoch is compiled: blocks may be produced
        self._http = httpx.AsyncClient(timeout=60)
        node.replica = self

    @property
    def is_leader(self) -> bool:
        return self.role == "leader"

    async def run(self) -> None:
        """Lead or stand by until cancelled."""
        try:
            while True:
                if self.role == "leader":
                    await self._lead()
                else:
                    await self._stand_by()
        finally:
            await self._http.aclose()
            await asyncio.to_thread(self.fence.close)

    async def _lead(self) -> None:
        storage = self.node.ledger.storage
        assert storage is not None
        try:
            epoch = await asyncio.to_thread(self.fence.claim, self.node.ledger.head.number)
        except FenceLost as e:
            await self._step_down(str(e))
            return
        storage.fence = self.fence
        self.leader_gauge.set(1)
        log.warning(
            "leading: producing blocks from block %d (leader epoch %d)",
            self.node.ledger.head.number + 1,
            epoch,
        )
        beat = asyncio.create_task(self._heartbeats())  # from now: compiling takes a while
        warm = asyncio.create_task(self.warm.wait())
        done, _ = await asyncio.wait({warm, beat}, return_when=asyncio.FIRST_COMPLETED)
        warm.cancel()
        if beat not in done:
            producing = self.node.start(first_now=self.takeovers > 0)
            done, _ = await asyncio.wait({producing, beat}, return_when=asyncio.FIRST_COMPLETED)
        reason = "stopped"
        for task in done:
            exc = task.exception()
            if exc is not None:
                reason = str(exc) or type(exc).__name__
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await beat
        await self._step_down(reason)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.takeover_after / 4)
            await asyncio.to_thread(self.fence.heartbeat)

    async def _step_down(self, reason: str) -> None:
        """Stop producing, answer the queue, give the lock up, reload the committed state."""
        log.error("lost leadership (%s): nothing more is committed here; standing by", reason)
        self.role = "standby"
        self.leader_gauge.set(0)
        await self.node.pause()
        storage = self.node.ledger.storage
        assert storage is not None
        storage.fence = None
        self.node.drop_queue("this replica stopped leading: submit again (to the leader)")
        await asyncio.to_thread(self.fence.release)
        self._stale = True  # the standby loop reloads the committed state

    async def _follow(self, reload: bool = False) -> None:
        """Load the blocks and state committed since our head (``reload``: even when the head
        did not move, our in-memory state may be a failed block's)."""
        ledger = self.node.ledger
        assert ledger.storage is not None
        after = -1 if reload else ledger.head.number
        snap = await asyncio.to_thread(load_snapshot, ledger.storage, ledger.config, after)
        if snap is None:
            return
        state, records = snap
        await self.node.committed()
        known = ledger.head.number
        ledger.state, ledger.head = state, records[-1]
        self.node.adopt([r for r in records if r.number > known])

    async def _stand_by(self) -> None:
        await asyncio.sleep(self.poll)
        try:
            await self._follow(reload=self._stale)
            self._stale = False
            if await asyncio.to_thread(self.fence.try_acquire):
                await self._take_over()
                return
            pid, age = await asyncio.to_thread(self.fence.holder)
            if pid is not None and age is not None and age > self.takeover_after:
                log.warning(
                    "the leader's session (backend pid %d) missed its heartbeats for %.1f s: "
                    "ending it",
                    pid,
                    age,
                )
                await asyncio.to_thread(self.fence.terminate, pid)
        except Exception as e:  # the database away: keep serving what we have, retry
            log.warning("standby: %s", _first_line(e))

    async def _take_over(self) -> None:
        """The lock is ours: no other session can commit now. Load the last committed block's
        state (the old leader's last commit included) and lead."""
        t0 = time.monotonic()
        await self._follow(reload=True)
        self.takeovers += 1
        self.role = "leader"
        log.warning(
            "took over at block %d in %.3f s after getting the lock",
            self.node.ledger.head.number,
            time.monotonic() - t0,
        )

    async def forward(self, raw: bytes, wait: bool) -> tuple[int, Any]:
        """Submit to the leader on behalf of a client of this standby: (status, JSON body)."""
        url = await asyncio.to_thread(self.fence.leader_url)
        if not url or url == self.fence.url:
            return 503, {"error": "ServiceUnavailable", "message": "no leader at the moment"}
        try:
            r = await self._http.post(
                url.rstrip("/") + "/v1/extrinsics",
                params={"wait": str(wait).lower()},
                content=raw,
                headers={"content-type": "application/json"},
            )
        except httpx.HTTPError as e:
            return 503, {
                "error": "ServiceUnavailable",
                "message": f"the leader at {url} did not answer: {e}",
            }
        return r.status_code, r.json()

    def describe(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "node": self.fence.node_id,
            "epoch": self.fence.epoch if self.is_leader else None,
            "takeover_after": self.takeover_after,
            "takeovers": self.takeovers,
        }


def new_node_id() -> str:
    return uuid.uuid4().hex[:12]
