/**
 * A version-1 state file made version 2, as it is read. Version 1 wrote the judge's own records as
 * they were then (types frozen below); version 2 writes the records of core/stateFormat.ts. Only the
 * judge's part changed: the log marks, gaps, journal and targets are the same in both.
 *
 * Nothing a version-1 file knew is lost, save `knownRunning` (the primary's word for the run that
 * wrote it: the next run asks again) and `ambiguous` (written by versions before 1 was settled, and
 * read by none since).
 */
import type { JudgeSnapshot, SavedPending, SavedPlace, SavedSession, SavedTx, SavedTxState, SavedUnit, SavedView } from '../core/stateFormat';

type V1Status = 'running' | 'aborted' | 'committing' | 'preparing' | 'prepared' | 'committed' | 'failed' | 'unknown';

interface V1Tx {
  id: number;
  session: string;
  pid: number;
  vxid: string;
  origin?: string;
  segment: number;
  abortedBy?: string;
  explicit?: boolean;
  beginSeen?: boolean;
  blockUnknown?: boolean;
  status: V1Status;
  view: SavedView;
  before: SavedView;
  local: Record<string, string>;
  savepoints: { name: string; units: number; parts: number; view: SavedView; local: Record<string, string> }[];
  units: number[];
  multi?: boolean;
  dropOnCommit: string[];
  gid?: string;
  commitBy?: number;
  rollbackBy?: number;
  crashedAt?: string;
}

interface V1Session {
  id: string;
  pid: number;
  exact?: boolean;
  txs: number[];
  view: SavedView;
  prepared: Record<string, SavedPlace>;
  last?: { tx: number; textHash?: string; record: string };
}

interface V1Judge {
  nextOrder: number;
  nextTx: number;
  sessions: V1Session[];
  txs: V1Tx[];
  pending: (SavedUnit & { order: number; tx: number; dropped?: boolean; textHash: string })[];
  prepared: Record<string, number>;
}

/**
 * A version-1 file's content as version 2. `data` has passed the version-1 shape check.
 * @returns a new object; `data` is not changed
 */
export function migrateV1(data: Record<string, unknown>): Record<string, unknown> {
  const log = data.log as { judge: V1Judge } | undefined;
  return { ...data, version: 2, ...(log && { log: { ...log, judge: judgeV1ToV2(log.judge) } }) };
}

function judgeV1ToV2(j: V1Judge): JudgeSnapshot {
  return {
    nextOrder: j.nextOrder,
    nextTx: j.nextTx,
    sessions: j.sessions.map(sessionV1ToV2),
    txs: j.txs.map(txV1ToV2),
    pending: j.pending.map((u): SavedPending => ({ ...u, dropped: u.dropped ?? false })),
    prepared: j.prepared,
  };
}

function sessionV1ToV2(s: V1Session): SavedSession {
  return { ...s, exact: s.exact ?? false };
}

function txV1ToV2(t: V1Tx): SavedTx {
  return {
    id: t.id,
    session: t.session,
    pid: t.pid,
    vxid: t.vxid,
    state: stateV1ToV2(t),
    block: t.beginSeen ? 'logged' : t.explicit ? 'unlogged' : 'none',
    extendedProtocol: t.blockUnknown ?? false,
    ownCommits: t.multi ?? false,
    // Version 1 wrote segment 0 for a transaction no string went on in.
    ...(t.origin !== undefined && { continues: { record: t.origin, segment: t.segment } }),
    ...(t.gid !== undefined && { gid: t.gid }),
    ...(t.commitBy !== undefined && { commitPreparedIn: t.commitBy }),
    ...(t.rollbackBy !== undefined && { rollbackPreparedIn: t.rollbackBy }),
    view: t.view,
    before: t.before,
    local: t.local,
    savepoints: t.savepoints,
    units: t.units,
    dropOnCommit: t.dropOnCommit,
  };
}

function stateV1ToV2(t: V1Tx): SavedTxState {
  switch (t.status) {
    case 'aborted':
      return t.abortedBy === undefined ? { is: 'aborted' } : { is: 'aborted', by: t.abortedBy };
    case 'unknown':
      return { is: 'unknown', crashedAt: t.crashedAt ?? '' };
    default:
      return { is: t.status };
  }
}
