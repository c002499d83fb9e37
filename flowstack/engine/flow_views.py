"""What operators see of flows: a list, every step of one flow, and its picture.

Pure reads of the flows table and of TaskFlow's persisted flow details; every
result is JSON-safe.  Step order, subflows and what blocked what come from
the flow's rebuilt shape (:mod:`flowstack.engine.flow_structure`).

Scope: a flow of another project is reported exactly like a missing one,
unless the caller is an administrator.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from taskflow import exceptions as tf_exc
from taskflow import states as tf_states
from taskflow.persistence import models as tf_models

from flowstack import exceptions
from flowstack.context import RequestContext
from flowstack.db import flow_records as flows
from flowstack.db import models
from flowstack.engine import flow_structure
from flowstack.runtime.container import Runtime
from flowstack.taskflow_adapter import persistence as backend

STATES = (
    flows.PENDING,
    flows.RUNNING,
    flows.SUCCESS,
    flows.REVERTED,
    flows.FAILURE,
    flows.QUARANTINED,
)
MASKED = "******"
OMITTED = "<omitted>"
#: A key containing one of these names a secret: its value is masked.
SECRET_WORDS = ("password", "secret", "token", "key")
#: Keys whose values are blobs (private data, documents): never shown.
BLOB_KEYS = frozenset({"data", "user_data", "userdata", "show", "secret_data"})
MAX_TEXT = 200
LABEL_TEXT = 60
#: Retry attempts whose failures ``show`` lists (the most recent ones).
LAST_ATTEMPTS = 3
REVERT_STATES = frozenset({tf_states.REVERTING, tf_states.REVERTED, tf_states.REVERT_FAILURE})

# Graphviz fill colours by step state; a step whose execution failed is red
# even once reverted, so that the cause of a rollback stands out.
COLOURS = {
    tf_states.PENDING: "white",
    tf_states.RUNNING: "lightskyblue",
    tf_states.SUCCESS: "palegreen",
    tf_states.FAILURE: "red",
    tf_states.REVERTING: "khaki",
    tf_states.REVERTED: "grey80",
    tf_states.REVERT_FAILURE: "darkred",
    tf_states.RETRYING: "gold",
    tf_states.IGNORE: "grey95",
}
FAILED_COLOUR = COLOURS[tf_states.FAILURE]
_WHITE_TEXT = frozenset({"red", "darkred"})


def is_admin(ctx: RequestContext) -> bool:
    """Administrators see every project (``is_admin``, or the admin role over RPC)."""
    return bool(getattr(ctx, "is_admin", False)) or "admin" in (getattr(ctx, "roles", None) or [])


# -- list ----------------------------------------------------------------------------------


def list_flows(
    rt: Runtime,
    ctx: RequestContext,
    *,
    state: str | None = None,
    stack: str | None = None,
    project: str | None = None,
    older_than: float | None = None,
) -> list[dict[str, Any]]:
    """Flows of the caller's project (an administrator's: every project, or ``project``).

    ``stack`` is a stack name or id; ``older_than`` keeps flows created more
    than that many seconds ago.
    """
    flow, stack_table = models.Flow, models.Stack
    query = sa.select(flow, stack_table.name).join(stack_table, stack_table.id == flow.stack_id)
    if is_admin(ctx):
        if project:
            query = query.where(flow.project_id == project)
    elif project and project != ctx.project_id:
        raise exceptions.InvalidRequest(
            "only an administrator may list the flows of another project", field="project"
        )
    else:
        query = query.where(flow.project_id == ctx.project_id)
    if state:
        wanted = state.upper()
        if wanted not in STATES:
            raise exceptions.InvalidRequest(
                f"unknown flow state {state!r}; states: {', '.join(STATES)}", field="state"
            )
        query = query.where(flow.state == wanted)
    if older_than is not None:
        if older_than < 0:
            raise exceptions.InvalidRequest("older_than must not be negative", field="older_than")
        query = query.where(flow.created_at < models.utcnow() - dt.timedelta(seconds=older_than))
    with rt.db.reader() as session:
        if stack:
            matching = query.where(sa.or_(stack_table.id == stack, stack_table.name == stack))
            rows = session.execute(matching.order_by(flow.created_at, flow.id)).all()
            if not rows and not _stack_exists(session, ctx, stack, project):
                raise exceptions.StackNotFound(name_or_id=stack)
        else:
            rows = session.execute(query.order_by(flow.created_at, flow.id)).all()
        now = models.utcnow()
        return [_flow_summary(row, name, now) for row, name in rows]


def _stack_exists(session: Any, ctx: RequestContext, stack: str, project: str | None) -> bool:
    query = sa.select(models.Stack.id).where(
        sa.or_(models.Stack.id == stack, models.Stack.name == stack)
    )
    if not is_admin(ctx):
        query = query.where(models.Stack.project_id == ctx.project_id)
    elif project:
        query = query.where(models.Stack.project_id == project)
    return session.execute(query.limit(1)).first() is not None


def _flow_summary(row: models.Flow, stack_name: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "stack_id": row.stack_id,
        "stack_name": stack_name,
        "project_id": row.project_id,
        "operation": row.operation,
        "state": row.state,
        "owner": row.owner,
        "attempts": row.attempts,
        "age_s": int((now - row.created_at).total_seconds()),
        "created_at": _time(row.created_at),
        "updated_at": _time(row.updated_at),
        "finished_at": _time(row.finished_at),
    }


# -- show ----------------------------------------------------------------------------------


def show_flow(rt: Runtime, ctx: RequestContext, flow_id: str) -> dict[str, Any]:
    """The flow, its failure history, and every step with its timings and outcome."""
    summary, detail = _load(rt, ctx, flow_id)
    structure = flow_structure.Structure.of(detail)
    steps = [_step(atom, structure.parents.get(atom.name)) for atom in structure.ordered(detail)]
    return {
        **summary,
        "taskflow_state": detail.state,
        "structure": structure.problem or "rebuilt from " + _factory_name(detail),
        "failed_steps": [s["name"] for s in steps if s["failure"]],
        "reverted_steps": [s["name"] for s in steps if s["reverted"]],
        "blocked_steps": sorted(structure.blocked(detail)),
        "steps": steps,
    }


def _load(
    rt: Runtime, ctx: RequestContext, flow_id: str
) -> tuple[dict[str, Any], tf_models.FlowDetail]:
    with rt.db.reader() as session:
        found = session.execute(
            sa.select(models.Flow, models.Stack.name)
            .join(models.Stack, models.Stack.id == models.Flow.stack_id)
            .where(models.Flow.id == flow_id)
        ).first()
        if found is None or not (is_admin(ctx) or found[0].project_id == ctx.project_id):
            raise exceptions.FlowNotFound(flow_id=flow_id)
        row, name = found
        summary = {
            **_flow_summary(row, name, models.utcnow()),
            "epoch": row.epoch,
            "cancel_requested": row.cancel_requested,
            "last_error": row.last_error,
            "errors": list(row.errors or []),
        }
    try:
        detail = rt.backend.get_connection().get_flow_details(flow_id)
    except tf_exc.NotFound:  # the row outlived its flow detail
        raise exceptions.FlowNotFound(flow_id=flow_id) from None
    return summary, detail


def _factory_name(detail: tf_models.FlowDetail) -> str:
    return str(((detail.meta or {}).get("factory") or {}).get("name", "its factory"))


def _step(atom: tf_models.AtomDetail, parent: str | None) -> dict[str, Any]:
    meta = atom.meta or {}
    started, ended = meta.get(backend.STARTED_AT), meta.get(backend.ENDED_AT)
    revert_started, reverted = meta.get(backend.REVERT_STARTED_AT), meta.get(backend.REVERTED_AT)
    in_revert = atom.state in REVERT_STATES
    retry = isinstance(atom, tf_models.RetryDetail)
    return {
        "name": atom.name,
        "kind": "retry" if retry else "task",
        "parent": parent,
        "state": atom.state,
        "intention": atom.intention,
        "started_at": _iso(started),
        "ended_at": _iso(ended),
        "duration_s": _duration(started, ended),
        "revert_started_at": _iso(revert_started) if in_revert else None,
        "reverted_at": _iso(reverted) if in_revert else None,
        "revert_duration_s": _duration(revert_started, reverted) if in_revert else None,
        "reverted": atom.state == tf_states.REVERTED,
        "retry": _attempts(atom) if retry else None,
        "result": None if retry else summarize(atom.results),
        "revert_result": summarize(atom.revert_results),
        "failure": _failure(atom.failure),
        "revert_failure": _failure(atom.revert_failure),
    }


def _attempts(atom: tf_models.RetryDetail) -> dict[str, Any]:
    """How often the retry ran its subflow, and why the last attempts failed.

    Only each attempt's failures are read: TaskFlow's decoding of a stored
    retry history replaces an attempt's own result with a failure's dict.
    """
    history = list(atom.results or [])
    last = []
    for number, (_, failures) in enumerate(history, start=1):
        if number > len(history) - LAST_ATTEMPTS and failures:
            last.append(
                {
                    "attempt": number,
                    "failures": {name: _one_line(f) for name, f in sorted(failures.items())},
                }
            )
    return {"attempts": len(history), "last_failures": last}


def _failure(failure: Any) -> dict[str, Any] | None:
    if failure is None:
        return None
    types = list(failure)
    return {
        "type": types[0] if types else None,
        "message": failure.exception_str,
        "traceback": failure.traceback_str,
    }


def _one_line(failure: Any) -> str:
    types = list(failure)
    kind = types[0].rsplit(".", 1)[-1] if types else "Failure"
    return _shorten(f"{kind}: {failure.exception_str}")


def summarize(value: Any, key: str = "") -> Any:
    """A step's result fit to show: secrets masked, blobs omitted, long text cut."""
    lowered = key.lower()
    if lowered in BLOB_KEYS:
        return OMITTED if value not in (None, {}, [], "") else value
    secret = any(word in lowered for word in SECRET_WORDS)
    if secret and value is not None and not isinstance(value, bool):
        return MASKED
    if isinstance(value, Mapping):
        return {str(k): summarize(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [summarize(v, key) for v in value]
    if isinstance(value, str):
        return _shorten(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return _shorten(repr(value))


def _shorten(text: str, most: int = MAX_TEXT) -> str:
    return text if len(text) <= most else text[: most - 3] + "..."


# -- graph ---------------------------------------------------------------------------------


def flow_graph(rt: Runtime, ctx: RequestContext, flow_id: str) -> str:
    """The flow as Graphviz DOT: steps coloured by state inside their subflows.

    A failed step is red (even once reverted) and thick-bordered; the steps it
    blocked are dashed, and the edges leading to them red.
    """
    summary, detail = _load(rt, ctx, flow_id)
    structure = flow_structure.Structure.of(detail)
    atoms = {atom.name: atom for atom in detail}
    blocked = structure.blocked(detail)
    failed = {name for name, atom in atoms.items() if flow_structure.failed(atom)}
    title = (
        f"flow {summary['id']}: {summary['operation']} of stack {summary['stack_name']}, "
        f"{summary['state']}"
    )
    if structure.problem:
        title += f" ({structure.problem})"
    lines = [
        f"digraph {_quote('flow-' + flow_id)} {{",
        f"  graph [label={_quote(title)}, labelloc=t, rankdir=LR, fontname=Helvetica];",
        '  node [shape=box, style="rounded,filled", fontname=Helvetica, fontsize=10];',
        "  edge [color=grey40];",
    ]
    placed: set[str] = set()
    if structure.root is not None:
        counter = itertools.count()
        lines.extend(_cluster_lines(structure.root, atoms, blocked, placed, counter, "  "))
    for name in sorted(set(atoms) - placed):
        lines.append("  " + _node(atoms[name], name in blocked))
    for a, b in sorted(structure.edges):
        stopped = b in blocked and (a in failed or a in blocked)
        style = " [color=red, penwidth=2]" if stopped else ""
        lines.append(f"  {_quote(a)} -> {_quote(b)}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _cluster_lines(
    cluster: flow_structure.Cluster,
    atoms: Mapping[str, tf_models.AtomDetail],
    blocked: set[str],
    placed: set[str],
    counter: Iterator[int],
    indent: str,
) -> list[str]:
    label = f"{cluster.name} ({cluster.pattern})"
    lines = [
        f"{indent}subgraph {_quote('cluster_' + str(next(counter)))} {{",
        f"{indent}  label={_quote(label)}; style=dashed; color=grey60; fontsize=10;",
    ]
    names = ([cluster.retry] if cluster.retry else []) + list(cluster.items)
    for item in names:
        if isinstance(item, flow_structure.Cluster):
            lines.extend(_cluster_lines(item, atoms, blocked, placed, counter, indent + "  "))
        elif item in atoms:
            placed.add(item)
            lines.append(f"{indent}  {_node(atoms[item], item in blocked)}")
    lines.append(f"{indent}}}")
    return lines


def _node(atom: tf_models.AtomDetail, blocked: bool) -> str:
    retry = isinstance(atom, tf_models.RetryDetail)
    failed = flow_structure.failed(atom)
    label = [atom.name, atom.state]
    if failed and atom.state != tf_states.FAILURE:
        label[1] = f"FAILED, then {atom.state}"
    meta = atom.meta or {}
    duration = _duration(meta.get(backend.STARTED_AT), meta.get(backend.ENDED_AT))
    if duration is not None:
        label.append(f"{duration:.3f} s")
    if retry:
        label.append(f"{len(atom.results or [])} attempt(s)")
    if atom.failure is not None:
        label.append(_shorten(_one_line(atom.failure), LABEL_TEXT))
    if blocked:
        label.append("blocked")
    colour = COLOURS.get(atom.state, "white")
    if failed and atom.state != tf_states.REVERT_FAILURE:
        colour = FAILED_COLOUR
    attributes = {
        "label": "\n".join(label),
        "fillcolor": colour,
        "shape": "hexagon" if retry else "box",
    }
    if colour in _WHITE_TEXT:
        attributes["fontcolor"] = "white"
    if failed:
        attributes["penwidth"] = "3"
    if blocked:
        attributes["style"] = "rounded,filled,dashed"
    if atom.failure is not None:
        attributes["tooltip"] = _one_line(atom.failure)
    rendered = ", ".join(f"{k}={_quote(v)}" for k, v in attributes.items())
    return f"{_quote(atom.name)} [{rendered}];"


def _quote(text: str) -> str:
    """A DOT double-quoted string (newlines become DOT's centred line breaks)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


# -- time ----------------------------------------------------------------------------------


def _time(value: dt.datetime | None) -> str | None:
    """A naive-UTC column value as ISO 8601 with a Z, as the other views show times."""
    return None if value is None else value.isoformat(timespec="microseconds") + "Z"


def _parse(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _iso(value: str | None) -> str | None:
    return _time(_parse(value))


def _duration(start: str | None, end: str | None) -> float | None:
    begun, ended = _parse(start), _parse(end)
    if begun is None or ended is None or ended < begun:
        return None
    return round((ended - begun).total_seconds(), 6)
