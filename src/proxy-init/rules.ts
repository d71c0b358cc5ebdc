import type { PortRange, ProxyInitSettings } from './config.ts';

// Settings (and what the nat table holds now) in, iptables-restore input out. Pure.
//
// The chains and comments are Linkerd's, so `iptables-save` reads the same to anyone who knows
// linkerd-init. Unlike linkerd-init the comments carry no run id: two runs with the same
// settings must leave byte-identical tables.
//
// Idempotence: the script is fed to `iptables-restore --noflush`, where declaring a user chain
// (":NAME - [0:0]") creates it or empties it, and the whole table commits atomically. Only the
// jumps from PREROUTING/OUTPUT live outside our chains; the current table decides whether they
// are kept (exactly one plain jump), or deleted and appended afresh (none, duplicates, or one
// with extra matches).

export const REDIRECT_CHAIN = 'PROXY_INIT_REDIRECT';
export const OUTPUT_CHAIN = 'PROXY_INIT_OUTPUT';

/** iptables' multiport match takes at most 15 ports, a range counting as two. */
export const MULTIPORT_LIMIT = 15;

export type Family = 4 | 6;

const JUMPS = [
  { from: 'PREROUTING', to: REDIRECT_CHAIN, comment: 'install-proxy-init-prerouting' },
  { from: 'OUTPUT', to: OUTPUT_CHAIN, comment: 'install-proxy-init-output' },
] as const;

function comment(text: string): string {
  return `-m comment --comment "proxy-init/${text}"`;
}

function formatRange(range: PortRange): string {
  return range.from === range.to ? String(range.from) : `${range.from}:${range.to}`;
}

/** Splits ranges into groups that each fit one multiport match. */
export function multiportGroups(ranges: readonly PortRange[]): string[][] {
  const groups: string[][] = [];
  let current: string[] = [];
  let used = 0;
  for (const range of ranges) {
    const cost = range.from === range.to ? 1 : 2;
    if (used + cost > MULTIPORT_LIMIT) {
      groups.push(current);
      current = [];
      used = 0;
    }
    current.push(formatRange(range));
    used += cost;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

function ignorePorts(chain: string, ranges: readonly PortRange[]): string[] {
  return multiportGroups(ranges).map((group) => {
    const list = group.join(',');
    return `-A ${chain} -p tcp -m multiport --dports ${list} ${comment(`ignore-port-${list}`)} -j RETURN`;
  });
}

/** The rules inside our two chains, in order, as iptables-restore lines. */
export function chainRules(settings: ProxyInitSettings, family: Family): string[] {
  const subnets = settings.subnetsToIgnore.filter((s) => s.family === family);
  const inbound = [
    ...ignorePorts(REDIRECT_CHAIN, settings.inboundPortsToIgnore),
    // From an ignored subnet straight to the app, as linkerd-init does.
    ...subnets.map((s) => `-A ${REDIRECT_CHAIN} -s ${s.cidr} ${comment(`ignore-subnet-${s.cidr}`)} -j RETURN`),
    `-A ${REDIRECT_CHAIN} -p tcp ${comment('redirect-all-incoming-to-proxy-port')} -j REDIRECT --to-ports ${settings.incomingProxyPort}`,
  ];
  const outbound = [
    // The proxy's own connections must leave as they are, or they would loop back into it.
    `-A ${OUTPUT_CHAIN} -m owner --uid-owner ${settings.proxyUid} ${comment('ignore-proxy-user-id')} -j RETURN`,
    `-A ${OUTPUT_CHAIN} -o lo ${comment('ignore-loopback')} -j RETURN`,
    ...ignorePorts(OUTPUT_CHAIN, settings.outboundPortsToIgnore),
    ...subnets.map((s) => `-A ${OUTPUT_CHAIN} -d ${s.cidr} ${comment(`ignore-subnet-${s.cidr}`)} -j RETURN`),
    `-A ${OUTPUT_CHAIN} -p tcp ${comment('redirect-all-outgoing-to-proxy-port')} -j REDIRECT --to-ports ${settings.outgoingProxyPort}`,
  ];
  return [...inbound, ...outbound];
}

export function jumpRule(jump: (typeof JUMPS)[number]): string {
  return `-A ${jump.from} ${comment(jump.comment)} -j ${jump.to}`;
}

export interface SavedRule {
  chain: string;
  /** The rule as iptables-save printed it, starting with "-A CHAIN". */
  line: string;
}

/** The "-A" lines of the nat table in `iptables-save` output (other tables are ignored). */
export function natRulesOf(save: string): SavedRule[] {
  const rules: SavedRule[] = [];
  let table = '';
  for (const raw of save.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) table = line.slice(1);
    else if (table === 'nat' && line.startsWith('-A ')) rules.push({ chain: line.split(/\s+/)[1], line });
  }
  return rules;
}

function jumpsTo(rules: readonly SavedRule[], from: string, to: string): SavedRule[] {
  const target = new RegExp(`\\s-j ${to}(\\s|$)`);
  return rules.filter((r) => r.chain === from && target.test(r.line));
}

/** A jump with nothing but a comment besides its target: one that sends every packet. */
function isPlainJump(rule: SavedRule, to: string): boolean {
  const rest = rule.line
    .replace(/-m comment --comment ("(?:[^"\\]|\\.)*"|\S+)/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return rest === `-A ${rule.chain} -j ${to}`;
}

/** Whether the nat table in `save` has our chains. */
export function hasOurChains(save: string): boolean {
  return new RegExp(`^:(${REDIRECT_CHAIN}|${OUTPUT_CHAIN}) `, 'm').test(save);
}

/**
 * The iptables-restore --noflush input that leaves the nat table with our two chains holding
 * exactly `chainRules(settings)` and one plain jump to each. `currentSave` is `iptables-save -t
 * nat` output of the same family ('' for an empty table).
 */
export function restoreScript(settings: ProxyInitSettings, family: Family, currentSave: string): string {
  const existing = natRulesOf(currentSave);
  const deletes: string[] = [];
  const appends: string[] = [];
  for (const jump of JUMPS) {
    const found = jumpsTo(existing, jump.from, jump.to);
    if (found.length === 1 && isPlainJump(found[0], jump.to)) continue;
    for (const rule of found) deletes.push(`-D${rule.line.slice(2)}`);
    appends.push(jumpRule(jump));
  }
  const lines = [
    '*nat',
    `:${REDIRECT_CHAIN} - [0:0]`,
    `:${OUTPUT_CHAIN} - [0:0]`,
    ...deletes,
    ...chainRules(settings, family),
    ...appends,
    'COMMIT',
  ];
  return lines.join('\n') + '\n';
}

export interface TableCheck {
  ok: boolean;
  problems: string[];
}

/** Checks a table after applying: both chains exist and each is jumped to exactly once. */
export function checkApplied(save: string): TableCheck {
  const problems: string[] = [];
  const rules = natRulesOf(save);
  for (const chain of [REDIRECT_CHAIN, OUTPUT_CHAIN]) {
    if (!new RegExp(`^:${chain} `, 'm').test(save)) problems.push(`chain ${chain} is missing`);
  }
  for (const jump of JUMPS) {
    const count = jumpsTo(rules, jump.from, jump.to).length;
    if (count !== 1) problems.push(`${jump.from} jumps to ${jump.to} ${count} times (expected once)`);
  }
  return { ok: problems.length === 0, problems };
}
