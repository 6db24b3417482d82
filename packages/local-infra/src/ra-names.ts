import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { which } from './proc';

/**
 * Repairs a RabbitMQ node's quorum-queue name registry before the node starts (RabbitMQ 3.10 to 4.2).
 *
 * Ra keeps the name → UId of every quorum-queue member of a node in `names.dets`, opened with
 * `{auto_save, 500}`: a member created (a queue declared) less than ~0.5 s before a `kill -9` is in
 * its data folder (`<uid>/config`, WAL, segments) but not in `names.dets`. On restart
 * `ra:restart_server` then answers `name_not_registered`, and rabbit_quorum_queue:recover silently
 * starts a NEW member with a new UId and an empty log. A new member never starts an election by
 * itself (Ra waits for the cluster's creator to trigger one), so on a single node the queue has no
 * leader for good: publishes routed to it are never confirmed ("leader call - leader not known" in
 * the log) and the messages it held sit orphaned in the old UId's folder. RabbitMQ 4.3 triggers an
 * election there (rabbitmq-server 624ee9033d), but the old messages stay lost.
 *
 * This puts the missing `{Name, UId}` rows back from each member's `config` file, so the restart
 * recovers every member with its own log. It changes nothing for a node stopped cleanly (every member
 * is registered; the file says so and is left alone). Needs the node stopped and `erl` (the Erlang that runs RabbitMQ). Returns the names
 * it registered again.
 */
export function repairRaNames(quorumDir: string): string[] {
  const file = join(quorumDir, 'names.dets');
  if (!existsSync(file) || closedProperly(file)) return [];
  const erl = which('erl', ['/usr/lib/erlang/bin']);
  if (!erl) throw new Error('erl not found (it comes with RabbitMQ: apt-get install -y erlang-base)');
  const r = spawnSync(erl, ['-noshell', '-noinput', '-eval', REPAIR], {
    env: { ...process.env, RA_DIR: quorumDir },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0) throw new Error(`repairing ${quorumDir}/names.dets failed: ${r.stderr || r.stdout || r.error}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('registered '))
    .map((l) => l.slice('registered '.length).trim());
}

/**
 * Whether the DETS file was written out completely (closed, or auto-saved with nothing changed since):
 * then every member is in it and no Erlang needs starting (0.3 s to 1 s saved on each start). Its header
 * is `<<FreeListsPointer:32, Cookie:32, ClosedProperly:32, ...>>`; DETS sets the flag to 0 on disk at the
 * first change after a save, 1 again at the next save or close.
 */
function closedProperly(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(12);
    return readSync(fd, head, 0, 12, 0) === 12 && head.readUInt32BE(4) === 0x00abcdef && head.readUInt32BE(8) === 1;
  } finally {
    closeSync(fd);
  }
}

/**
 * The member configs, oldest first, then every name absent from names.dets inserted one by one (two
 * configs for one name: the newest wins); `dets:close` writes the table properly closed.
 */
const REPAIR = `
try
  Dir = os:getenv("RA_DIR"),
  {ok, T} = dets:open_file(ra_names_repair, [{file, filename:join(Dir, "names.dets")}, {access, read_write}, {repair, true}]),
  Members = lists:sort(lists:filtermap(fun(F) ->
      case file:consult(F) of
        {ok, [#{id := {Name, _}, log_init_args := #{uid := UId}}]} when is_atom(Name), is_binary(UId) ->
          {true, {filelib:last_modified(F), Name, UId}};
        _ -> false
      end
    end, filelib:wildcard(filename:join([Dir, "*", "config"])))),
  Missing = [{Name, UId} || {_, Name, UId} <- Members, dets:lookup(T, Name) =:= []],
  lists:foreach(fun(Row) -> ok = dets:insert(T, Row) end, Missing),
  ok = dets:close(T),
  lists:foreach(fun({Name, UId}) -> io:format("registered ~ts ~ts~n", [Name, UId]) end, Missing),
  halt(0)
catch C:R:S ->
  io:format(standard_error, "~p:~p ~p~n", [C, R, S]),
  halt(1)
end.
`;
