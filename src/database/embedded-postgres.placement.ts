import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type PostgresBinaries, type RunAs } from './embedded-postgres.process';

const run = promisify(execFile);

/** Where the cluster lives and who runs it. */
export interface Placement {
  bin: PostgresBinaries;
  runAs: RunAs;
  /** The cluster folder: `<dataDir>/postgres`, or where that symlink points (postgres cannot follow the link's path). */
  pgDir: string;
}

/** The platform package of `embedded-postgres` ships bin/, lib/ and share/; we run them ourselves. */
export async function packagedBinaries(): Promise<PostgresBinaries> {
  const name = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
  let mod: { postgres: string; initdb: string };
  try {
    mod = (await import(name)) as { postgres: string; initdb: string };
  } catch (err) {
    throw new Error(
      `no embedded PostgreSQL for ${platform()}-${arch()} (${name}: ${(err as Error).message}); set DATABASE_URL`,
      {
        cause: err,
      },
    );
  }
  const root = resolve(dirname(mod.postgres), '..');
  const pkg = JSON.parse(await fs.readFile(join(root, '..', 'package.json'), 'utf8')) as { version: string };
  await linkLibraries(root);
  return { root, postgres: mod.postgres, initdb: mod.initdb, version: pkg.version };
}

/**
 * The platform package lists its library symlinks (libicuuc.so.60 -> ...) in pg-symlinks.json and
 * creates them in an install script; installs here run no scripts (.npmrc `ignore-scripts`, so
 * that onnxruntime-node's script never downloads CUDA files), so we create the missing ones.
 */
async function linkLibraries(root: string): Promise<void> {
  const list = await fs.readFile(join(root, 'pg-symlinks.json'), 'utf8').catch(() => '[]');
  for (const { source, target } of JSON.parse(list) as { source: string; target: string }[]) {
    // Paths are from the package's own folder (`native/lib/x`); links are made relative.
    const at = resolve(root, '..', target);
    if (await fs.lstat(at).catch(() => undefined)) continue;
    await fs.symlink(relative(dirname(at), resolve(root, '..', source)), at).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
}

/**
 * Decides where PostgreSQL runs from and where its cluster lives. Not root: in place, as us. Root:
 * PostgreSQL refuses to run as root, so it runs as `postgres`, which cannot pass a 0700 folder
 * such as /root. Whatever it cannot reach moves under `sharedDir` (root-owned, 0755): a copy of
 * the binaries, and the cluster, linked from `<dataDir>/postgres`. See docs/embedded-database.md.
 */
export async function placeCluster(dataDir: string, sharedDir: string, log: (l: string) => void): Promise<Placement> {
  const pgDir = join(dataDir, 'postgres');
  let bin = await packagedBinaries();
  if (process.getuid?.() !== 0) return { bin, runAs: {}, pgDir };

  const user = await postgresUser();
  if (!(await reachable(bin.postgres, user, 0o5)) || !(await reachable(join(bin.root, 'lib'), user, 0o5))) {
    bin = await copyBinaries(bin, join(sharedDir, `postgres-${bin.version}`), log);
  }
  if (await reachable(dirname(dataDir), user, 0o1)) {
    // DATA_DIR is ours: let the postgres user pass through it (not list it).
    const st = await fs.stat(dataDir);
    if ((st.mode & 0o001) === 0) await fs.chmod(dataDir, (st.mode & 0o777) | 0o011);
  }
  const link = await fs.lstat(pgDir).catch(() => undefined);
  if (link?.isSymbolicLink()) {
    const target = resolve(dirname(pgDir), await fs.readlink(pgDir));
    await ownedCluster(target, user);
    return { bin, runAs: user, pgDir: target };
  }
  if (link || (await reachable(dataDir, user, 0o1))) {
    if (!link) {
      await fs.mkdir(pgDir, { mode: 0o700 });
      await fs.chown(pgDir, user.uid, user.gid);
    }
    if (!(await reachable(pgDir, user, 0o1))) {
      throw new Error(`${pgDir} exists but the postgres user cannot reach it: move it, or set DATABASE_URL`);
    }
    return { bin, runAs: user, pgDir };
  }
  const clusters = join(sharedDir, 'clusters');
  await mkdirOpen(clusters);
  const cluster = join(clusters, createHash('sha256').update(dataDir).digest('hex').slice(0, 16));
  const credentials = join(dataDir, 'postgres.credentials.json');
  if ((await fs.stat(cluster).catch(() => undefined)) && !(await fs.stat(credentials).catch(() => undefined))) {
    // DATA_DIR was deleted (link and credentials) but its cluster outlived it here: start afresh,
    // and keep the old one aside rather than delete a database.
    const aside = `${cluster}.old-${Date.now()}`;
    await fs.rename(cluster, aside);
    log(`embedded PostgreSQL: ${dataDir} was emptied; its previous database was kept in ${aside}`);
  }
  await ownedCluster(cluster, user);
  await fs.symlink(cluster, pgDir);
  log(
    `embedded PostgreSQL: the postgres user cannot reach ${dataDir}, so the database lives in ${cluster} (linked from ${pgDir})`,
  );
  return { bin, runAs: user, pgDir: cluster };
}

/**
 * The `postgres` user and group, created (as a system user) when missing. Only its primary group
 * counts: a child spawned with uid/gid drops supplementary groups.
 */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const ids = async () => {
    const [u, g] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(u.stdout), gid: Number(g.stdout) };
  };
  try {
    return await ids();
  } catch {
    try {
      await run('groupadd', ['--system', 'postgres']).catch(() => undefined);
      await run('useradd', ['--system', '--no-create-home', '-g', 'postgres', 'postgres']);
    } catch (err) {
      throw new Error(
        `running as root, the embedded PostgreSQL needs a "postgres" user and could not create one: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    return ids();
  }
}

/**
 * Whether `user` can reach `path`: search (x) on every ancestor and `bits` (o-style rwx) on the
 * path itself, from the mode bits (ACLs are not considered).
 */
export async function reachable(path: string, user: { uid: number; gid: number }, bits: number): Promise<boolean> {
  const allowed = (st: { uid: number; gid: number; mode: number }, want: number) => {
    if (user.uid === 0) return true;
    if (st.uid === user.uid) return ((st.mode >> 6) & want) === want;
    if (st.gid === user.gid) return ((st.mode >> 3) & want) === want;
    return (st.mode & want) === want;
  };
  try {
    let current = resolve(path);
    if (!allowed(await fs.stat(current), bits)) return false;
    for (;;) {
      const parent = dirname(current);
      if (parent === current) return true;
      current = parent;
      if (!allowed(await fs.stat(current), 0o1)) return false;
    }
  } catch {
    return false;
  }
}

/** Copies the distribution once (atomically: a temp folder renamed in) to a root-owned 0755 folder. */
async function copyBinaries(
  bin: PostgresBinaries,
  target: string,
  log: (l: string) => void,
): Promise<PostgresBinaries> {
  const copied = {
    root: target,
    postgres: join(target, 'bin', 'postgres'),
    initdb: join(target, 'bin', 'initdb'),
    version: bin.version,
  };
  if (await fs.stat(copied.postgres).catch(() => undefined)) return copied;
  await mkdirOpen(dirname(target));
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    await fs.cp(bin.root, tmp, { recursive: true, verbatimSymlinks: true });
    await openUp(tmp);
    await fs.rename(tmp, target).catch(async (err) => {
      // A concurrent start won the race: use its copy.
      if (!(await fs.stat(copied.postgres).catch(() => undefined))) throw err;
    });
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
  log(`embedded PostgreSQL: the postgres user cannot reach ${bin.root}; copied PostgreSQL ${bin.version} to ${target}`);
  return copied;
}

async function ownedCluster(dir: string, user: { uid: number; gid: number }): Promise<void> {
  if (await fs.stat(dir).catch(() => undefined)) return;
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chown(dir, user.uid, user.gid);
  await fs.chmod(dir, 0o700);
}

/** mkdir -p, then 0755 on the folder (whatever the umask), so the postgres user can pass. */
async function mkdirOpen(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.chmod(dir, 0o755);
}

/** Folders 0755, files readable by all (executables executable by all), whatever the umask was. */
async function openUp(path: string): Promise<void> {
  const st = await fs.lstat(path);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    await fs.chmod(path, 0o755);
    for (const entry of await fs.readdir(path)) await openUp(join(path, entry));
  } else {
    await fs.chmod(path, st.mode & 0o100 ? 0o755 : 0o644);
  }
}
