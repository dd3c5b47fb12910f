/**
 * The closed-loop demo for a browser test: `jupyter mlops demo DIR --no-lab
 * --keep-running` in a fresh temporary folder (the demo needs a workspace of
 * its own: the shared Galata root already holds one), then a JupyterLab of its
 * own on that folder, with Galata's test settings
 * (`jupyter_server_test_config.py`: no token, the Galata helper extension) on
 * a free port. The demo's monitor is paused before the server starts (see
 * `startLoop`). `stop()` deletes the demo's deployment through the server,
 * stops the server, ends any process still naming the folder (by its pid) and
 * removes the folder (kept when MLOPS_LOOP_KEEP is set, to look at it after a
 * failure), so nothing outlives the test.
 *
 * Everything is asynchronous (spawn, not execFileSync) so Playwright's
 * timeouts can still fire while the demo runs.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

const HERE = __dirname;
const VENV_BIN = path.resolve(HERE, '..', '.venv', 'bin');

/** A binary of the project's venv when it exists, else the one on PATH. */
export function bin(name: string): string {
  const local = path.join(VENV_BIN, name);
  return fs.existsSync(local) ? local : name;
}

/** The environment of the demo and its server: the venv first on PATH, no inherited workspace. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  env.PATH = `${VENV_BIN}${path.delimiter}${process.env.PATH ?? ''}`;
  delete env.JUPYTER_MLOPS_WORKSPACE;
  delete env.JUPYTER_MLOPS_DB_URL;
  delete env.JUPYTER_MLOPS_TRACKING_URI;
  delete env.JUPYTER_MLOPS_ARTIFACT_ROOT;
  return env;
}

/** What `.mlops/demo.json` records of the loop: its stages and the ids it made. */
export interface IDemoRecord {
  status: string;
  wall_s: number;
  stages: { title: string; seconds: number; detail: string }[];
  facts: {
    first_run: string;
    retrain_run: string;
    alert_id: number;
    drift_check: number;
    challenger: number;
    gate_id: number;
    first_champion: number;
  };
}

export interface ILoop {
  /** The temporary folder: the demo workspace is `root`, logs sit next to it. */
  dir: string;
  root: string;
  url: string;
  record: IDemoRecord;
  /** Wall time of the demo command and of the server's start, in seconds. */
  demoSeconds: number;
  labSeconds: number;
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/** A port nobody listens on now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Wait for a child to exit; SIGKILL its process group after `graceMs`. */
async function end(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
  try {
    process.kill(-(child.pid as number), 'SIGTERM');
  } catch {
    return;
  }
  const timer = sleep(graceMs).then(() => 'late');
  if ((await Promise.race([exited.then(() => 'ok'), timer])) === 'late') {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
  }
}

/** Run `jupyter mlops demo ROOT --no-lab --keep-running`; its output goes to `demo.log`. */
async function runDemo(dir: string, root: string, timeoutMs: number): Promise<void> {
  const log = fs.openSync(path.join(dir, 'demo.log'), 'w');
  const child = spawn(bin('jupyter'), ['mlops', 'demo', root, '--no-lab', '--keep-running'], {
    cwd: dir,
    env: childEnv({ NO_COLOR: '1', TERM: 'dumb' }),
    stdio: ['ignore', log, log],
    detached: true
  });
  const code = await Promise.race([
    new Promise<number | null>(resolve => child.once('exit', c => resolve(c))),
    sleep(timeoutMs).then(() => 'timeout' as const)
  ]);
  fs.closeSync(log);
  if (code === 'timeout') {
    await end(child, 5000);
  }
  if (code !== 0) {
    const tail = fs.readFileSync(path.join(dir, 'demo.log'), 'utf-8').slice(-4000);
    throw new Error(
      `jupyter mlops demo ${
        code === 'timeout' ? `took over ${timeoutMs / 1000} s` : `exited ${code}`
      }:\n${tail}`
    );
  }
}

/** Start JupyterLab on `root` with Galata's settings; resolves once /api/status answers. */
async function startLab(
  dir: string,
  root: string,
  port: number,
  timeoutMs: number
): Promise<ChildProcess> {
  const log = fs.openSync(path.join(dir, 'jupyterlab.log'), 'w');
  const child = spawn(
    bin('jupyter'),
    [
      'lab',
      '--config',
      path.join(HERE, 'jupyter_server_test_config.py'),
      `--ServerApp.root_dir=${root}`,
      `--ServerApp.port=${port}`,
      '--ServerApp.ip=127.0.0.1',
      '--no-browser'
    ],
    {
      cwd: root,
      env: childEnv({ MLOPS_UI_PORT: String(port), JUPYTERLAB_GALATA_ROOT_DIR: root }),
      stdio: ['ignore', log, log],
      detached: true
    }
  );
  fs.closeSync(log);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      break;
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/api/status`);
      if (response.ok) {
        return child;
      }
    } catch {
      // not listening yet
    }
    await sleep(300);
  }
  await end(child, 5000);
  const tail = fs.readFileSync(path.join(dir, 'jupyterlab.log'), 'utf-8').slice(-3000);
  throw new Error(`JupyterLab did not answer on port ${port}:\n${tail}`);
}

/** Live processes (not zombies) whose command line, environment or cwd names `text`. */
export function processesMentioning(text: string): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) {
      continue;
    }
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf-8').replace(/\0/g, ' ');
      const environ = fs.readFileSync(`/proc/${entry}/environ`, 'utf-8');
      const state = fs.readFileSync(`/proc/${entry}/stat`, 'utf-8').split(') ')[1]?.[0];
      let cwd = '';
      try {
        cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      } catch {
        // no access
      }
      if (state !== 'Z' && (cmd.includes(text) || environ.includes(text) || cwd.startsWith(text))) {
        found.push({ pid: Number(entry), cmd: cmd.slice(0, 160) });
      }
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Run a few lines of Python in the demo's workspace (`ws`), as the demo's own venv. */
async function python(root: string, lines: string, timeoutMs = 60000): Promise<void> {
  const code = 'import sys, jupyter_mlops\nws = jupyter_mlops.workspace(sys.argv[1])\n' + lines;
  const child = spawn(bin('python'), ['-c', code, root], {
    cwd: root,
    env: childEnv(),
    stdio: ['ignore', 'ignore', 'pipe']
  });
  let stderr = '';
  child.stderr?.on('data', chunk => (stderr += String(chunk)));
  const code_ = await Promise.race([
    new Promise<number | null>(resolve => child.once('exit', c => resolve(c))),
    sleep(timeoutMs).then(() => {
      child.kill('SIGKILL');
      return 'timeout' as const;
    })
  ]);
  if (code_ !== 0) {
    const how = code_ === 'timeout' ? 'timed out' : `exited ${code_}`;
    throw new Error(`python in ${root} ${how}: ${stderr.slice(-2000)}`);
  }
}

/** Folders of loops not stopped yet: if the worker exits without `stop()`, their processes go. */
const unstopped = new Set<string>();
process.on('exit', () => {
  for (const dir of unstopped) {
    for (const p of processesMentioning(dir)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
});

/**
 * Run the demo in a fresh temporary folder and open a JupyterLab on it.
 * On any failure what was started is stopped and the folder removed.
 */
export async function startLoop(options: {
  demoTimeoutMs: number;
  labTimeoutMs: number;
}): Promise<ILoop> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-loop-ui-'));
  const root = path.join(dir, 'demo');
  unstopped.add(dir);
  let lab: ChildProcess | null = null;
  let url = '';

  const stop = async (): Promise<void> => {
    // the deployment (a router and model servers of their own) first, through the server
    let stopped = false;
    if (url) {
      try {
        const response = await fetch(`${url}/jupyter-mlops/deployments/churn-api`, {
          method: 'DELETE',
          signal: AbortSignal.timeout(60000)
        });
        stopped = response.ok || response.status === 404;
      } catch {
        stopped = false;
      }
    }
    if (!stopped && fs.existsSync(path.join(root, '.mlops'))) {
      await python(root, 'jupyter_mlops.get_deployment("churn-api", workspace=ws).stop()\n').catch(
        () => undefined
      );
    }
    if (lab) {
      await end(lab, 15000);
    }
    // nothing may outlive the test: give the processes a few seconds to exit, then end
    // whatever still names the folder (all started for this test) by its pid, and say so
    let left = processesMentioning(dir);
    for (let i = 0; left.length && i < 20; i++) {
      await sleep(500);
      left = processesMentioning(dir);
    }
    for (let i = 0; i < 20 && processesMentioning(dir).length; i++) {
      for (const p of processesMentioning(dir)) {
        try {
          process.kill(p.pid, i < 10 ? 'SIGTERM' : 'SIGKILL');
        } catch {
          // gone
        }
      }
      await sleep(500);
    }
    unstopped.delete(dir);
    if (!process.env.MLOPS_LOOP_KEEP) {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    if (left.length) {
      throw new Error(
        'still running 10 s after the deployment was deleted and the server stopped ' +
          `(ended now): ${left.map(p => `${p.pid} ${p.cmd}`).join('; ')}`
      );
    }
  };

  try {
    const t0 = Date.now();
    await runDemo(dir, root, options.demoTimeoutMs);
    const demoSeconds = (Date.now() - t0) / 1000;
    const record = JSON.parse(
      fs.readFileSync(path.join(root, '.mlops', 'demo.json'), 'utf-8')
    ) as IDemoRecord;
    // the monitor checks every ten minutes: a check after the loop closed finds no drift
    // against the new champion and resolves the alert, so it would go from the panel in the
    // middle of the walk if the walk met a ten-minute boundary; paused, the state holds still
    await python(root, 'jupyter_mlops.get_monitor("churn-api-drift", workspace=ws).pause()\n');
    const port = await freePort();
    const t1 = Date.now();
    lab = await startLab(dir, root, port, options.labTimeoutMs);
    url = `http://127.0.0.1:${port}`;
    return { dir, root, url, record, demoSeconds, labSeconds: (Date.now() - t1) / 1000, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
