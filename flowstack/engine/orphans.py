"""Servers and resources that lost each other, found and fixed by an operator.

flowstack tags every server it boots with ``flowstack:stack_id`` and
``flowstack:resource`` (see :mod:`flowstack.resources.types.nova_server`).
Two kinds of orphan are reported:

* ``server``: a server in Nova carrying the tag whose resource does not hold
  it: the stack was deleted (or is unknown to this database), the resource is
  gone, was never created or was deleted, or holds another server;
* ``missing``: a resource that holds a server which Nova no longer has.

Stacks with a flow at work on them (``*_IN_PROGRESS``) are left out: their
flow may still adopt or delete what looks orphaned.  Real Nova filters
servers by name and status only, so the tag is matched here, client-side.

``delete`` removes orphaned servers through the same Nova client and waits
until they are gone; ``adopt`` gives an orphaned server to its resource when
that resource has none.  Each action is recorded as an event of the stack,
naming who did it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from flowstack import exceptions, status
from flowstack.clients import nova as nova_api
from flowstack.context import RequestContext
from flowstack.db import events, models, resources
from flowstack.engine.flow_views import is_admin
from flowstack.resources.types.nova_server import TAG_RESOURCE, TAG_STACK, NovaServer
from flowstack.runtime import resource_state
from flowstack.runtime.container import Runtime

SERVER = "server"
MISSING = "missing"
#: Resource types whose physical id is a Nova server.
SERVER_TYPES = frozenset({NovaServer.type_name})
DELETED = "deleted"
ALREADY_GONE = "already gone"
_GONE_STATUSES = ("DELETED", "SOFT_DELETED")


@dataclasses.dataclass
class _Inventory:
    """What Nova and the database hold, read once per command."""

    servers: dict[str, dict[str, Any]]
    stacks: dict[str, models.Stack]
    resources: dict[tuple[str, str], models.Resource]


def list_orphans(rt: Runtime, ctx: RequestContext) -> list[dict[str, Any]]:
    """Orphaned servers, then resources whose server is missing, in the caller's scope."""
    inventory = _inventory(rt, ctx)
    found = list(_orphaned_servers(inventory, ctx))
    found.extend(_missing_servers(rt, inventory, ctx))
    return found


def delete_orphans(
    rt: Runtime,
    ctx: RequestContext,
    server_ids: Iterable[str] = (),
    *,
    delete_all: bool = False,
    timeout: float | None = None,
) -> list[dict[str, Any]]:
    """Delete orphaned servers and wait until they are gone; one report per server.

    With ``delete_all``, every orphaned server whose stack this database
    knows; a server whose stack is unknown (purged, or another deployment's)
    is deleted only when named.  A named server that is not an orphan is
    reported and left alone.
    """
    wanted = list(dict.fromkeys(server_ids))
    if not wanted and not delete_all:
        raise exceptions.InvalidRequest("name the orphaned servers to delete, or ask for all")
    orphans = {o["server_id"]: o for o in list_orphans(rt, ctx) if o["kind"] == SERVER}
    reports, targets = [], []
    for server_id in wanted:
        if server_id in orphans:
            targets.append(orphans[server_id])
        else:
            reports.append(
                {
                    **_report_of(None, server_id),
                    "result": "not deleted: not an orphaned server (see `orphans list`)",
                }
            )
    if delete_all:
        for orphan in orphans.values():
            if orphan["server_id"] in wanted:
                continue
            if orphan["stack_name"] is None:
                reports.append(
                    {**_report_of(orphan), "result": "skipped: unknown stack; name it to delete"}
                )
            else:
                targets.append(orphan)
    timeout = rt.conf.nova.delete_timeout if timeout is None else timeout
    reports.extend(_delete(rt, ctx, targets, timeout))
    return reports


def adopt_orphan(rt: Runtime, ctx: RequestContext, server_id: str) -> dict[str, Any]:
    """Give an orphaned server to its resource, which must hold no (existing) server.

    The resource becomes CREATE_COMPLETE with the server's attributes; the
    stack's status is left as it is.
    """
    inventory = _inventory(rt, ctx)
    orphan = next(
        (o for o in _orphaned_servers(inventory, ctx) if o["server_id"] == server_id), None
    )
    if orphan is None:
        raise exceptions.NotFound(
            f"Server {server_id} is not an orphaned server of flowstack (see `orphans list`)"
        )
    stack = inventory.stacks.get(orphan["stack_id"])
    if stack is None or stack.deleted_id:
        raise exceptions.Conflict(
            f"Server {server_id} belongs to a stack that is gone; delete it instead"
        )
    row = inventory.resources.get((stack.id, orphan["resource"]))
    if row is None:
        raise exceptions.Conflict(
            f"Stack {stack.name} has no resource {orphan['resource']!r} for server {server_id}"
        )
    held = row.physical_id if row.action not in (status.INIT, status.DELETE) else None
    if held and _exists(rt, inventory, held):
        raise exceptions.Conflict(
            f"Resource {row.name!r} of stack {stack.name} holds server {held}; "
            f"delete the orphan {server_id} instead"
        )
    server = inventory.servers[server_id]
    if server.get("status") != "ACTIVE":
        raise exceptions.Conflict(
            f"Server {server_id} is {server.get('status')}; only an ACTIVE server can be "
            "adopted (delete it instead)"
        )
    loaded = resource_state.load(rt, rt.stacks.get(stack.id), row.name)
    plugin = loaded.plugin
    plugin.physical_id = server_id
    plugin.data.setdefault(
        "intent",
        {
            "name": server.get("name"),
            "tag": {TAG_STACK: stack.id, TAG_RESOURCE: row.name},
            "run": 1,
        },
    )
    plugin.data["create_sent"] = True
    columns, _ = resource_state.ready_state(rt, plugin)
    reason = f"server {server_id} adopted by {_who(ctx)}"
    with rt.db.writer() as session:
        # Locked, so that no flow starts on the stack while its resource changes.
        current = session.scalars(
            sa.select(models.Stack).where(models.Stack.id == stack.id).with_for_update()
        ).one()
        now = resources.get(session, stack.id, row.name)
        if current.status == status.IN_PROGRESS or current.deleted_id:
            raise exceptions.StackBusy(
                name=stack.name, status=status.combined(current.action, current.status)
            )
        if (now.action, now.status, now.physical_id) != (row.action, row.status, row.physical_id):
            raise exceptions.Conflict(f"Resource {row.name!r} changed meanwhile; try again")
        resources.transition(
            session, stack.id, row.name, row.type, status.CREATE, status.COMPLETE, reason, **columns
        )
    return {
        "server_id": server_id,
        "server_name": server.get("name"),
        "stack_id": stack.id,
        "stack_name": stack.name,
        "resource": row.name,
        "resource_status": status.combined(status.CREATE, status.COMPLETE),
        "reason": reason,
    }


# -- finding -------------------------------------------------------------------------------


def _inventory(rt: Runtime, ctx: RequestContext) -> _Inventory:
    servers = {s["id"]: s for s in _list_servers(rt, ctx)}
    tagged_stacks = {
        (s.get("metadata") or {}).get(TAG_STACK)
        for s in servers.values()
        if (s.get("metadata") or {}).get(TAG_STACK)
    }
    with rt.db.reader() as session:
        scope = sa.and_(
            models.Stack.deleted_id == "",
            sa.true() if is_admin(ctx) else models.Stack.project_id == ctx.project_id,
        )
        stacks = {
            row.id: row
            for row in session.scalars(
                sa.select(models.Stack).where(
                    sa.or_(models.Stack.id.in_(sorted(tagged_stacks)), scope)
                )
            )
        }
        rows = session.scalars(
            sa.select(models.Resource).where(
                models.Resource.stack_id.in_(sorted(stacks)),
                models.Resource.type.in_(sorted(SERVER_TYPES)),
            )
        ).all()
        for row in [*stacks.values(), *rows]:
            session.expunge(row)
    return _Inventory(servers, stacks, {(r.stack_id, r.name): r for r in rows})


def _list_servers(rt: Runtime, ctx: RequestContext) -> list[dict[str, Any]]:
    """Every server flowstack's Nova account sees; every project's for an admin, if Nova agrees."""
    nova = rt.clients.nova()
    if is_admin(ctx):
        try:
            with nova_api.translated():
                found = nova.servers.list(search_opts={"all_tenants": True}, limit=-1)
            return [_document(s) for s in found]
        except nova_api.NovaRequestError as exc:
            if exc.status != 403:  # 403: the account may not list other projects
                raise
    with nova_api.translated():
        return [_document(s) for s in nova.servers.list(limit=-1)]


def _document(server: Any) -> dict[str, Any]:
    info = server.to_dict() if hasattr(server, "to_dict") else dict(server)
    return {
        "id": str(info["id"]),
        "name": info.get("name"),
        "status": info.get("status"),
        "task_state": info.get("OS-EXT-STS:task_state"),
        "metadata": info.get("metadata") or {},
    }


def _visible(stack: models.Stack | None, ctx: RequestContext) -> bool:
    if is_admin(ctx):
        return True
    return stack is not None and stack.project_id == ctx.project_id


def _busy(stack: models.Stack | None, row: models.Resource | None) -> bool:
    """A flow is at work on the stack: what looks orphaned may still be adopted."""
    if stack is not None and not stack.deleted_id and stack.status == status.IN_PROGRESS:
        return True
    return row is not None and row.status == status.IN_PROGRESS


def _orphaned_servers(inventory: _Inventory, ctx: RequestContext) -> Iterable[dict[str, Any]]:
    for server in inventory.servers.values():
        tag = server["metadata"]
        stack_id, name = tag.get(TAG_STACK), tag.get(TAG_RESOURCE)
        if not stack_id or _deleting(server):
            continue
        stack = inventory.stacks.get(stack_id)
        if not _visible(stack, ctx):
            continue
        row = inventory.resources.get((stack_id, name or ""))
        if _busy(stack, row):
            continue
        reason = _why_orphaned(server, stack, row, name)
        if reason is not None:
            yield _row(SERVER, server, stack, name, reason, stack_id=stack_id)


def _why_orphaned(
    server: dict[str, Any], stack: models.Stack | None, row: models.Resource | None, name: Any
) -> str | None:
    """Why a tagged server belongs to no live resource; None when one holds it."""
    if stack is None:
        return "its stack is not in flowstack's database (purged, or another deployment's)"
    if stack.deleted_id:
        return f"stack {stack.name} was deleted"
    if row is None:
        return f"stack {stack.name} has no server resource {name!r}"
    if row.action == status.INIT:
        return (
            f"resource {row.name!r} was never created ({status.combined(row.action, row.status)})"
        )
    if (row.action, row.status) == (status.DELETE, status.COMPLETE):
        return f"resource {row.name!r} is DELETE_COMPLETE"
    if row.physical_id != server["id"]:
        if row.physical_id:
            return f"resource {row.name!r} holds server {row.physical_id}"
        return f"resource {row.name!r} holds no server"
    return None


def _missing_servers(
    rt: Runtime, inventory: _Inventory, ctx: RequestContext
) -> Iterable[dict[str, Any]]:
    for (stack_id, _), row in sorted(inventory.resources.items()):
        stack = inventory.stacks[stack_id]
        if stack.deleted_id or not _visible(stack, ctx) or _busy(stack, row):
            continue
        if not row.physical_id or row.action == status.INIT:
            continue
        if (row.action, row.status) == (status.DELETE, status.COMPLETE):
            continue
        if _exists(rt, inventory, row.physical_id):
            continue
        server = {"id": row.physical_id, "name": None, "status": None}
        reason = (
            f"server {row.physical_id} of resource {row.name!r} "
            f"({status.combined(row.action, row.status)}) is missing from Nova"
        )
        yield _row(MISSING, server, stack, row.name, reason, stack_id=stack_id)


def _exists(rt: Runtime, inventory: _Inventory, server_id: str) -> bool:
    """Whether Nova has the server (asked directly when the listing lacks it)."""
    listed = inventory.servers.get(server_id)
    if listed is not None:
        return not _deleting(listed)
    return _still_there(rt, server_id)


def _still_there(rt: Runtime, server_id: str) -> bool:
    """Whether Nova still has the server (a server being deleted counts until it is gone)."""
    try:
        with nova_api.translated():
            seen = _document(rt.clients.nova().servers.get(server_id))
    except nova_api.NovaNotFound:
        return False
    return seen.get("status") not in _GONE_STATUSES


def _deleting(server: dict[str, Any]) -> bool:
    return server.get("task_state") == "deleting" or server.get("status") in _GONE_STATUSES


def _row(
    kind: str,
    server: dict[str, Any],
    stack: models.Stack | None,
    resource: Any,
    reason: str,
    *,
    stack_id: str,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "server_id": server["id"],
        "server_name": server.get("name"),
        "server_status": server.get("status") or ("MISSING" if kind == MISSING else None),
        "stack_id": stack_id,
        "stack_name": stack.name if stack is not None else None,
        "project_id": stack.project_id if stack is not None else None,
        "resource": resource,
        "reason": reason,
    }


# -- deleting ------------------------------------------------------------------------------


def _delete(
    rt: Runtime, ctx: RequestContext, targets: list[dict[str, Any]], timeout: float
) -> list[dict[str, Any]]:
    nova = rt.clients.nova()
    results: dict[str, str] = {}
    waiting: list[str] = []
    for orphan in targets:
        server_id = orphan["server_id"]
        try:
            with nova_api.translated():
                nova.servers.delete(server_id)
            waiting.append(server_id)
        except nova_api.NovaNotFound:
            results[server_id] = ALREADY_GONE
        except nova_api.NovaError as exc:
            results[server_id] = f"failed: {exc}"
    give_up_at = time.monotonic() + timeout
    interval = rt.conf.engine.poll_interval
    while waiting:
        still = []
        for server_id in waiting:
            try:
                if _still_there(rt, server_id):
                    still.append(server_id)
                else:
                    results[server_id] = DELETED
            except nova_api.NovaError:  # a transient error: ask again next round
                still.append(server_id)
        waiting = still
        if waiting and time.monotonic() >= give_up_at:
            for server_id in waiting:
                results[server_id] = f"failed: still exists {timeout:g} s after its delete"
            break
        if waiting:
            time.sleep(interval)
    reports = []
    for orphan in targets:
        result = results[orphan["server_id"]]
        _record(rt, ctx, orphan, result)
        reports.append({**_report_of(orphan), "result": result})
    return reports


def _record(rt: Runtime, ctx: RequestContext, orphan: dict[str, Any], result: str) -> None:
    """An event on the server's stack, when this database still has the stack."""
    if orphan["stack_name"] is None:
        return
    done = result in (DELETED, ALREADY_GONE)
    reason = f"orphaned server {orphan['server_id']} deleted by {_who(ctx)}"
    if not done:
        reason = f"deleting orphaned server {orphan['server_id']} (by {_who(ctx)}) {result}"
    with rt.db.writer() as session:
        events.add(
            session,
            orphan["stack_id"],
            status.DELETE,
            status.COMPLETE if done else status.FAILED,
            reason,
            resource_name=orphan["resource"],
            resource_type=NovaServer.type_name,
            physical_id=orphan["server_id"],
        )


def _report_of(orphan: dict[str, Any] | None, server_id: str | None = None) -> dict[str, Any]:
    orphan = orphan or {}
    return {
        "server_id": orphan.get("server_id", server_id),
        "server_name": orphan.get("server_name"),
        "stack_name": orphan.get("stack_name"),
        "resource": orphan.get("resource"),
    }


def _who(ctx: RequestContext) -> str:
    return ctx.user_id or "an unknown user"
