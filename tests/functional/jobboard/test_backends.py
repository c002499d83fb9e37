"""Each jobboard backend against its real server: claims kept, lost, and idle workers woken.

What the worker's conductor and claim keeper rely on, whatever the server
(Redis, Redis through Sentinel, etcd, ZooKeeper): a renewed claim outlives
its expiry, a claim given back is claimable by another, a renewal after
the claim was lost says so, and a watch wakes an idle worker when a job is
posted or freed, so it need not poll.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from oslo_config import cfg
from taskflow import exceptions as tf_exc

from flowstack.jobboard import base
from flowstack.jobboard import board as jobboard
from tests import services
from tests.jobboard_servers import (
    JobboardServers,
    ServerProcess,
    _answers,
    every_jobboard,
    free_port,
)

EXPIRY = 2.0


@pytest.fixture
def open_board(
    conf: cfg.ConfigOpts, jobboard_servers: JobboardServers, jobboard_kind: str
) -> Iterator[Callable[[str], base.Jobboard]]:
    """Opens boards on one namespace of the backend's server, as separate processes would."""
    namespace = f"flowstack-test-{uuid.uuid4().hex[:8]}"
    conf.set_override("url", jobboard_servers.url(jobboard_kind), group="jobboard")
    conf.set_override("namespace", namespace, group="jobboard")
    conf.set_override("claim_expiry", EXPIRY, group="jobboard")
    opened: list[base.Jobboard] = []

    def open_one(name: str) -> base.Jobboard:
        opened.append(jobboard.open_board(conf, name))
        return opened[-1]

    yield open_one
    for board in opened:
        board.close()
    jobboard_servers.forget(jobboard_kind, namespace)


def the_job(board: base.Jobboard, flow_id: str) -> object:
    """The job as ``board`` lists it (a worker claims what its own board lists)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for job in board.iterjobs(ensure_fresh=True):
            if jobboard.flow_of(job) == flow_id:
                return job
        time.sleep(0.05)
    raise AssertionError(f"flow {flow_id} never appeared on the board")


@every_jobboard
def test_a_renewed_claim_outlives_its_expiry(open_board) -> None:
    mine, theirs = open_board("worker-a"), open_board("worker-b")
    jobboard.post_flow(mine, "f1")
    job = the_job(mine, "f1")
    mine.claim(job, "worker-a")
    deadline = time.monotonic() + 2 * EXPIRY
    while time.monotonic() < deadline:
        assert mine.renew(job, "worker-a")
        time.sleep(0.5)
    with pytest.raises(tf_exc.UnclaimableJob):
        theirs.claim(the_job(theirs, "f1"), "worker-b")
    assert theirs.find_owner(the_job(theirs, "f1")) == "worker-a"


@every_jobboard
def test_a_job_given_back_and_claimed_again_is_kept_by_renewing(open_board) -> None:
    """etcd: TaskFlow caches a job's first lease; renewing that one let the second
    claim lapse while its owner was alive and renewing."""
    mine, theirs = open_board("worker-a"), open_board("worker-b")
    jobboard.post_flow(mine, "f1")
    job = the_job(mine, "f1")
    mine.claim(job, "worker-a")
    assert mine.renew(job, "worker-a")
    mine.abandon(job, "worker-a")
    assert not mine.renew(job, "worker-a")  # given back: nothing to keep
    mine.claim(job, "worker-a")
    deadline = time.monotonic() + 2 * EXPIRY
    while time.monotonic() < deadline:
        assert mine.renew(job, "worker-a"), "the second claim was lost while renewed"
        time.sleep(0.5)
    assert theirs.find_owner(the_job(theirs, "f1")) == "worker-a"


@every_jobboard
def test_a_claim_of_a_board_that_went_away_becomes_claimable(open_board) -> None:
    """Redis and etcd: the unrenewed expiry lapses; ZooKeeper: the session ends."""
    mine, theirs = open_board("worker-a"), open_board("worker-b")
    jobboard.post_flow(mine, "f1")
    mine.claim(the_job(mine, "f1"), "worker-a")
    mine.close()
    deadline = time.monotonic() + 10 * EXPIRY
    while True:
        try:
            theirs.claim(the_job(theirs, "f1"), "worker-b")
            break
        except tf_exc.UnclaimableJob:
            assert time.monotonic() < deadline, "the claim never lapsed"
            time.sleep(0.2)
    assert theirs.find_owner(the_job(theirs, "f1")) == "worker-b"


@every_jobboard
def test_a_watch_wakes_an_idle_worker_on_a_post_and_on_a_freed_claim(open_board) -> None:
    idle, busy = open_board("worker-idle"), open_board("worker-busy")
    woken = threading.Event()
    watch = idle.watch(woken.set, retry=60.0)  # a long poll: only the watch can wake it
    try:
        woken.wait(30)  # a watch may wake once when it starts listening
        woken.clear()
        jobboard.post_flow(busy, "f1")
        assert woken.wait(30), "not woken by a post"

        job = the_job(busy, "f1")
        busy.claim(job, "worker-busy")
        time.sleep(0.5)
        woken.clear()
        busy.abandon(job, "worker-busy")
        assert woken.wait(30), "not woken when the claim was given back"
    finally:
        watch.stop()


def test_redis_with_an_acl_user(conf: cfg.ConfigOpts, tmp_path) -> None:
    """A Redis whose default user is off: the named user and password are used."""
    services.need_library("redis")
    program = services.need_program("redis-server")
    port = free_port()
    server = ServerProcess(
        "redis-acl",
        [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--user", "default", "off",
         "--user", "flowstack", "on", ">pa55:word@x", "~*", "&*", "+@all"],
        tmp_path,
        lambda: _answers(port, b"PING\r\n", b"NOAUTH"),
    )  # fmt: skip
    try:
        conf.set_override(
            "url", f"redis://flowstack:pa55%3Aword%40x@127.0.0.1:{port}/0", group="jobboard"
        )
        board = jobboard.open_board(conf, "worker-a")
        try:
            jobboard.post_flow(board, "f1")
            job = the_job(board, "f1")
            board.claim(job, "worker-a")
            assert board.renew(job, "worker-a")
            assert 0 < board.claim_expires_in(job) <= conf.jobboard.claim_expiry
            assert "pa55" not in board.where
        finally:
            board.close()
    finally:
        server.stop()
