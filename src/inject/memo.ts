interface Tables<O, V> {
  get(owner: O): Map<string, V> | undefined;
  set(owner: O, table: Map<string, V>): unknown;
}

/**
 * The table of remembered results that belongs to `owner` (a configuration, a map's path),
 * created on first use. The injector's caches are keyed per owner so that results made for one
 * configuration are never handed out for another.
 */
export function tableFor<O, V>(tables: Tables<O, V>, owner: O): Map<string, V> {
  let table = tables.get(owner);
  if (table === undefined) {
    table = new Map();
    tables.set(owner, table);
  }
  return table;
}
