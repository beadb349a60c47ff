/**
 * The judge's records to and from the state file's format (core/stateFormat.ts), field by field:
 * a field added to a record of the judge does not build until it is given its place in the file, or
 * said to have none.
 */
import type { NestedDdl } from './captureUse';
import type { NeverGot } from './neverGot';
import type { PendingUnit, Session, SessionView, Tx } from './judge';
import { JudgeSnapshot, SavedCapture, SavedPending, SavedSession, SavedTx, SavedTxState, SavedView, nothingLeft, placeOf, unitFromSaved, unitToSaved } from './stateFormat';

/** What the judge holds between records, in its own types. */
export interface JudgeRecords {
  nextOrder: number;
  nextTx: number;
  sessions: Session[];
  txs: Tx[];
  pending: HashedUnit[];
  prepared: Record<string, number>;
  nested: NestedDdl[];
  neverGot: NeverGot[];
}

/** A pending unit with its text's hash taken, as the state file holds it. */
export type HashedUnit = PendingUnit & { textHash: string };

export function judgeToSaved(j: JudgeRecords): JudgeSnapshot {
  return {
    nextOrder: j.nextOrder,
    nextTx: j.nextTx,
    sessions: j.sessions.map(sessionToSaved),
    txs: j.txs.map(txToSaved),
    pending: j.pending.map(pendingToSaved),
    prepared: { ...j.prepared },
    ...(j.nested.length > 0 && { nested: j.nested.map(nestedOf) }),
    ...(j.neverGot.length > 0 && { neverGot: j.neverGot.map(neverGotOf) }),
  };
}

export function judgeFromSaved(s: JudgeSnapshot): JudgeRecords {
  return {
    nextOrder: s.nextOrder,
    nextTx: s.nextTx,
    sessions: s.sessions.map(sessionFromSaved),
    txs: s.txs.map(txFromSaved),
    pending: s.pending.map(pendingFromSaved),
    prepared: { ...s.prepared },
    nested: (s.nested ?? []).map(nestedOf),
    neverGot: (s.neverGot ?? []).map(neverGotOf),
  };
}

function neverGotOf(g: NeverGot): NeverGot {
  const { database, kind, schema, name, path, anySchema, why, ...rest } = g;
  nothingLeft(rest);
  return { database, kind, ...(schema !== undefined && { schema }), name, ...(path !== undefined && { path }), ...(anySchema && { anySchema }), why };
}

function nestedOf(n: NestedDdl): NestedDdl {
  const { at, fileKey, database, sessionId, logTime, tag, objects, statement, ...rest } = n;
  nothingLeft(rest);
  return { at, fileKey, database, sessionId, logTime, tag, objects: objects.map((o) => ({ identity: o.identity, type: o.type, action: o.action })), statement };
}

function viewOf(v: SavedView): SessionView {
  return { settings: { ...v.settings }, temp: [...v.temp] };
}

function sessionToSaved(s: Session): SavedSession {
  const { id, pid, exact, txs, view, prepared, last, ...rest } = s;
  nothingLeft(rest);
  return {
    id,
    pid,
    exact,
    txs: [...txs],
    view: viewOf(view),
    prepared: Object.fromEntries(Object.entries(prepared).map(([name, p]) => [name, placeOf(p)])),
    ...(last && { last: { tx: last.tx, ...(last.textHash !== undefined && { textHash: last.textHash }), record: last.record, ...(last.units && last.units.length > 0 && { units: [...last.units] }) } }),
  };
}

function sessionFromSaved(s: SavedSession): Session {
  return sessionToSaved(s);
}

function txToSaved(t: Tx): SavedTx {
  const {
    id, session, pid, vxid, origin, segment, abortedBy, explicit, beginSeen, blockUnknown, status, view, before, local, savepoints, units, multi,
    dropOnCommit, gid, commitBy, rollbackBy, crashedAt,
    // True for one run only: the primary is asked again each run.
    knownRunning: _knownRunning,
    ...rest
  } = t;
  nothingLeft(rest);
  return {
    id,
    session,
    pid,
    vxid,
    state: stateOf(status, abortedBy, crashedAt),
    block: beginSeen ? 'logged' : explicit ? 'unlogged' : 'none',
    extendedProtocol: blockUnknown,
    ownCommits: multi,
    ...(origin !== undefined && { continues: { record: origin, segment } }),
    ...(gid !== undefined && { gid }),
    ...(commitBy !== undefined && { commitPreparedIn: commitBy }),
    ...(rollbackBy !== undefined && { rollbackPreparedIn: rollbackBy }),
    view: viewOf(view),
    before: viewOf(before),
    local: { ...local },
    savepoints: savepoints.map((p) => ({ name: p.name, units: p.units, parts: p.parts, view: viewOf(p.view), local: { ...p.local } })),
    units: [...units],
    dropOnCommit: [...dropOnCommit],
  };
}

/** The judge keeps a status and the facts that go with some of them; the file keeps them together. */
function stateOf(status: Tx['status'], abortedBy: string | undefined, crashedAt: string | undefined): SavedTxState {
  switch (status) {
    case 'aborted':
      return abortedBy === undefined ? { is: 'aborted' } : { is: 'aborted', by: abortedBy };
    case 'unknown':
      return { is: 'unknown', crashedAt: crashedAt ?? '' };
    default:
      return { is: status };
  }
}

function txFromSaved(t: SavedTx): Tx {
  const tx: Tx = {
    id: t.id,
    session: t.session,
    pid: t.pid,
    vxid: t.vxid,
    segment: t.continues?.segment ?? 0,
    explicit: t.block !== 'none',
    beginSeen: t.block === 'logged',
    blockUnknown: t.extendedProtocol,
    status: t.state.is,
    view: viewOf(t.view),
    before: viewOf(t.before),
    local: { ...t.local },
    savepoints: t.savepoints.map((p) => ({ name: p.name, units: p.units, parts: p.parts, view: viewOf(p.view), local: { ...p.local } })),
    units: [...t.units],
    multi: t.ownCommits,
    dropOnCommit: [...t.dropOnCommit],
  };
  if (t.continues) tx.origin = t.continues.record;
  if (t.state.is === 'aborted' && t.state.by !== undefined) tx.abortedBy = t.state.by;
  if (t.state.is === 'unknown') tx.crashedAt = t.state.crashedAt;
  if (t.gid !== undefined) tx.gid = t.gid;
  if (t.commitPreparedIn !== undefined) tx.commitBy = t.commitPreparedIn;
  if (t.rollbackPreparedIn !== undefined) tx.rollbackBy = t.rollbackPreparedIn;
  return tx;
}

function pendingToSaved(u: HashedUnit): SavedPending {
  const { order, tx, dropped, textHash, captures, ...unit } = u;
  return { ...unitToSaved(unit), order, tx, dropped, textHash, ...(captures && { captures: captures.map(captureOf) }) };
}

function pendingFromSaved(u: SavedPending): HashedUnit {
  const { order, tx, dropped, textHash, captures, ...unit } = u;
  return { ...unitFromSaved(unit), order, tx, dropped, textHash, ...(captures && { captures: captures.map(captureOf) }) };
}

function captureOf(c: SavedCapture): SavedCapture {
  return { xid: c.xid, sub: c.sub, ...(c.status !== undefined && { status: c.status }) };
}
