import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, matchesGlob, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

// No Docker engine runs here, so the Dockerfile is checked statically: every path it copies
// exists (and survives .dockerignore), every stage it copies from is defined and produces what is
// copied, every npm script it runs is defined, and the entrypoint resolves to the CLI.

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++;
      const next = lines[i]!;
      if (/^\s*#/.test(next)) continue;
      line = line.slice(0, -1) + ' ' + next.trim();
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    assert.ok(m, `Dockerfile line ${first}: cannot parse ${JSON.stringify(line)}`);
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: first });
  }
  return out;
}

interface Stage {
  name: string | undefined;
  base: string;
  instructions: Instruction[];
}

function stages(instructions: Instruction[]): Stage[] {
  const result: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      assert.ok(m, `FROM on line ${ins.line}`);
      result.push({ base: m[1]!, name: m[2], instructions: [] });
    } else if (result.length > 0) {
      result.at(-1)!.instructions.push(ins);
    } else {
      assert.ok(ins.keyword === 'ARG', `only ARG may precede the first FROM (line ${ins.line})`);
    }
  }
  return result;
}

interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
  line: number;
}

function parseCopy(ins: Instruction): Copy {
  const words = ins.args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const dest = words.pop()!;
  return { from, sources: words, dest, line: ins.line };
}

function dockerignorePatterns(): string[] {
  return read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Docker's rule, simplified to what .dockerignore uses here: a pattern excludes the paths it matches and everything below them. */
function ignored(path: string, patterns: string[]): boolean {
  let excluded = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = posix.normalize(negate ? raw.slice(1) : raw).replace(/^\/+/, '');
    const parts = path.split('/');
    const hit = parts.some((_, i) => matchesGlob(parts.slice(0, i + 1).join('/'), pattern));
    if (hit) excluded = !negate;
  }
  return excluded;
}

/** The first word of every simple command in a RUN line (split on && ; | and subshells). */
function commandsOf(run: string): string[][] {
  return run
    .split(/&&|\|\||;|\|/)
    .map((part) => part.trim().replace(/^\(+|\)+$/g, '').trim())
    .filter((part) => part !== '')
    .map((part) => part.split(/\s+/).filter((w) => !/^[A-Z_]+=/.test(w)));
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const allStages = stages(dockerfile);
const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; bin: Record<string, string> };

describe('Dockerfile', () => {
  test('is a multi-stage build on Node 24 with a slim Debian runtime', () => {
    const nodeArg = dockerfile.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_VERSION='));
    assert.equal(nodeArg?.args, 'NODE_VERSION=24');
    assert.ok(allStages.length >= 2);
    for (const stage of allStages) assert.match(stage.base, /^node:\$\{NODE_VERSION\}-bookworm(-slim)?$/);
    assert.equal(allStages.at(-1)!.base, 'node:${NODE_VERSION}-bookworm-slim');
    assert.equal(allStages.at(-1)!.name, undefined, 'the last stage is the image');
  });

  test('every path copied from the build context exists and is not excluded by .dockerignore', () => {
    const patterns = dockerignorePatterns();
    for (const ins of dockerfile.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
      assert.equal(ins.keyword, 'COPY', `line ${ins.line}: use COPY, not ADD`);
      const copy = parseCopy(ins);
      if (copy.from !== undefined) continue;
      for (const source of copy.sources) {
        assert.ok(existsSync(join(root, source)), `line ${copy.line}: ${source} does not exist`);
        assert.ok(!ignored(source, patterns), `line ${copy.line}: ${source} is excluded by .dockerignore`);
      }
    }
  });

  test('.dockerignore keeps local builds, dependencies and git out of the context', () => {
    const patterns = dockerignorePatterns();
    for (const path of ['node_modules', 'node_modules/yaml/package.json', '.git', 'dist', 'build', 'test/chart/chart.test.ts', 'certs/dev.key']) {
      assert.ok(ignored(path, patterns), `${path} should be ignored`);
    }
    for (const path of ['src/cli.ts', 'package.json', 'native/build.js']) assert.ok(!ignored(path, patterns), `${path} must stay`);
  });

  test('every COPY --from names an earlier stage, and that stage produces the path', () => {
    const outputs: Record<string, Set<string>> = {};
    for (const [index, stage] of allStages.entries()) {
      const workdir = stage.instructions.findLast((i) => i.keyword === 'WORKDIR')?.args ?? '/';
      const produced = new Set<string>();
      for (const ins of stage.instructions) {
        if (ins.keyword === 'COPY') {
          const copy = parseCopy(ins);
          if (copy.from !== undefined) {
            const earlier = allStages.slice(0, index).map((s) => s.name);
            assert.ok(earlier.includes(copy.from), `line ${copy.line}: stage ${copy.from} is not defined before it`);
            for (const source of copy.sources) {
              assert.ok(outputs[copy.from]!.has(source), `line ${copy.line}: stage ${copy.from} does not produce ${source} (it has ${[...outputs[copy.from]!].join(', ')})`);
            }
          }
          const dest = posix.resolve(workdir, copy.dest);
          for (const source of copy.sources) produced.add(copy.sources.length === 1 && !copy.dest.endsWith('/') && copy.dest !== './' ? dest : posix.join(dest, posix.basename(source)));
        }
        if (ins.keyword === 'RUN') {
          if (/\bnpm ci\b/.test(ins.args)) produced.add(posix.join(workdir, 'node_modules'));
          if (/\bnpm run build\b/.test(ins.args)) {
            // What `npm run build` writes, read from the files that decide it.
            const outDir = (JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { outDir: string } }).compilerOptions.outDir;
            produced.add(posix.join(workdir, outDir));
            assert.match(read('native/build.js') + (existsSync(join(root, 'native/compile.js')) ? read('native/compile.js') : ''), /original_dst\.node/);
            produced.add(posix.join(workdir, 'build'));
          }
        }
      }
      if (stage.name) outputs[stage.name] = produced;
    }
  });

  test('every npm script it runs is defined, with the files it needs copied first', () => {
    for (const stage of allStages) {
      const copied: string[] = [];
      for (const ins of stage.instructions) {
        if (ins.keyword === 'COPY' && parseCopy(ins).from === undefined) copied.push(...parseCopy(ins).sources);
        if (ins.keyword !== 'RUN') continue;
        for (const [command, ...args] of commandsOf(ins.args)) {
          if (command !== 'npm' || args[0] !== 'run') continue;
          const script = args[1]!;
          assert.ok(pkg.scripts[script], `line ${ins.line}: npm script ${script} is not defined`);
          // The scripts it chains must exist too, and read only copied files.
          const body = pkg.scripts[script]!;
          for (const nested of body.matchAll(/npm run ([\w:-]+)/g)) assert.ok(pkg.scripts[nested[1]!], `npm script ${nested[1]} is not defined`);
          const allBodies = [body, ...[...body.matchAll(/npm run ([\w:-]+)/g)].map((m) => pkg.scripts[m[1]!]!)].join(' ');
          for (const file of allBodies.match(/[\w./-]+\.(?:json|js|ts)\b/g) ?? []) {
            assert.ok(copied.some((c) => file === c || file.startsWith(`${c.replace(/\/$/, '')}/`)), `line ${ins.line}: ${script} needs ${file}, which is not copied before it`);
          }
        }
      }
    }
    assert.match(pkg.scripts.build!, /tsc -p tsconfig\.build\.json/);
  });

  test('every other command it runs exists in the Debian-based Node images', () => {
    const known = new Set(['apt-get', 'rm', 'groupadd', 'useradd', 'npm', 'test', 'chmod', 'ln', 'mkdir', 'chown']);
    for (const ins of dockerfile.filter((i) => i.keyword === 'RUN')) {
      for (const [command] of commandsOf(ins.args)) assert.ok(known.has(command!), `line ${ins.line}: unexpected command ${command}`);
    }
  });

  test('the runtime has iptables (both backends), runs as a numeric non-root user, and enters through weft', () => {
    const runtime = allStages.at(-1)!;
    const runs = runtime.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    assert.match(runs, /apt-get install -y --no-install-recommends [^\n]*\biptables\b/);
    assert.match(runs, /rm -rf \/var\/lib\/apt\/lists/);
    const user = runtime.instructions.findLast((i) => i.keyword === 'USER')!.args;
    const [uid] = user.split(':');
    assert.match(uid!, /^\d+$/, 'numeric, so runAsNonRoot can check it');
    assert.notEqual(uid, '0');
    assert.match(runs, new RegExp(`useradd [^\\n]*--uid ${uid}\\b`));

    const entrypoint = JSON.parse(runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT')!.args) as string[];
    assert.deepEqual(entrypoint, ['weft']);
    const link = /ln -s (\S+) \/usr\/local\/bin\/weft/.exec(runs);
    assert.ok(link, 'weft is on PATH');
    assert.equal(link[1], '/app/bin/weft.js');
    assert.equal(pkg.bin.weft, 'bin/weft.js');
    assert.match(read('bin/weft.js'), /^#!\/usr\/bin\/env node/);
    assert.match(read('bin/weft.js'), /\.\.\/dist\/cli\.js/);
    const build = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { rootDir: string; outDir: string } };
    assert.equal(build.compilerOptions.rootDir, 'src');
    assert.ok(existsSync(join(root, 'src/cli.ts')), 'src/cli.ts compiles to dist/cli.js');
    const workdir = runtime.instructions.findLast((i) => i.keyword === 'WORKDIR')!.args;
    assert.equal(workdir, '/app');
    // The CLI finds package.json one level above dist/ (for --version).
    assert.ok(runtime.instructions.some((i) => i.keyword === 'COPY' && parseCopy(i).sources.includes('package.json') && parseCopy(i).from === undefined));
  });

  test("Debian's iptables package provides every program proxy-init runs", async (t) => {
    const listing = spawnSync('dpkg', ['-L', 'iptables'], { encoding: 'utf8' });
    if (listing.status !== 0) {
      t.skip('dpkg or the iptables package is not on this machine, so its file list cannot be read');
      return;
    }
    const { binaries } = await import('../../src/proxy-init/backend.ts');
    const files = new Set(listing.stdout.split('\n').map((f) => posix.basename(f)));
    for (const backend of ['nft', 'legacy'] as const) {
      for (const family of [4, 6] as const) {
        const { save, restore } = binaries(backend, family);
        assert.ok(files.has(save), `${save} is not in Debian's iptables package`);
        assert.ok(files.has(restore), `${restore} is not in Debian's iptables package`);
      }
    }
  });

  test('the image can run standalone mode: the example cluster state and a state folder the runtime user may write', () => {
    const runtime = allStages.at(-1)!;
    const workdir = runtime.instructions.findLast((i) => i.keyword === 'WORKDIR')!.args;
    // src/commands/controller.ts resolves the examples two levels above dist/commands/.
    assert.match(read('src/commands/controller.ts'), /new URL\('\.\.\/\.\.\/examples\/', import\.meta\.url\)/);
    const copiesExamples = runtime.instructions.some((i) => i.keyword === 'COPY' && parseCopy(i).from === undefined && parseCopy(i).sources.includes('examples') && posix.resolve(workdir, parseCopy(i).dest) === posix.join(workdir, 'examples'));
    assert.ok(copiesExamples, 'the runtime stage copies examples/ to <workdir>/examples');
    assert.ok(existsSync(join(root, 'examples/cluster')), 'standalone mode reads examples/cluster');
    // The default --state-dir is .weft/standalone under the working directory.
    const [uid, gid] = runtime.instructions.findLast((i) => i.keyword === 'USER')!.args.split(':');
    const runs = runtime.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    assert.match(runs, new RegExp(`mkdir -p ${workdir}/\\.weft`));
    assert.match(runs, new RegExp(`chown ${uid}:${gid} ${workdir}/\\.weft`));
    assert.match(read('src/controller/config.ts'), /'state-dir': \{[^}]*default: '\.weft\/standalone'/);
  });

  test('carries the OCI labels', () => {
    const labels = dockerfile.filter((i) => i.keyword === 'LABEL').map((i) => i.args).join(' ');
    for (const key of ['title', 'description', 'version', 'revision', 'source', 'licenses']) {
      assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${key}=`), key);
    }
  });

  test('installs production dependencies only in the image', () => {
    const runtime = allStages.at(-1)!;
    const nodeModules = runtime.instructions.filter((i) => i.keyword === 'COPY' && parseCopy(i).sources.some((s) => s.endsWith('node_modules')));
    assert.equal(nodeModules.length, 1);
    const from = parseCopy(nodeModules[0]!).from!;
    const stage = allStages.find((s) => s.name === from)!;
    assert.ok(stage.instructions.some((i) => i.keyword === 'RUN' && /npm ci --omit=dev/.test(i.args)));
  });
});
