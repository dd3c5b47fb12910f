/**
 * Start a real Jupyter server (with jupyter-mlops) for the client tests.
 * The server binary comes from $JUPYTER_BIN, else .venv/bin/jupyter, else PATH.
 */
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitFor(url, token, deadline) {
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { headers: { Authorization: `token ${token}` } });
      if (response.ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise(r => setTimeout(r, 250));
  }
  throw new Error(`Jupyter server did not answer at ${url}`);
}

module.exports = async () => {
  const venvJupyter = path.join(__dirname, '.venv', 'bin', 'jupyter');
  const jupyter =
    process.env.JUPYTER_BIN || (fs.existsSync(venvJupyter) ? venvJupyter : 'jupyter');
  const port = await freePort();
  const token = 'jest-' + Math.random().toString(36).slice(2);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-jest-'));
  const args = [
    'server',
    `--ServerApp.port=${port}`,
    '--ServerApp.ip=127.0.0.1',
    `--IdentityProvider.token=${token}`,
    `--ServerApp.root_dir=${root}`,
    '--ServerApp.open_browser=False',
    '--ServerApp.allow_root=True'
  ];
  const log = fs.openSync(path.join(root, 'server.log'), 'w');
  const child = spawn(jupyter, args, { stdio: ['ignore', log, log], detached: true });
  const baseUrl = `http://127.0.0.1:${port}/`;
  await waitFor(`${baseUrl}api/status`, token, Date.now() + 60000);
  globalThis.__MLOPS_SERVER__ = child;
  process.env.MLOPS_TEST_BASE_URL = baseUrl;
  process.env.MLOPS_TEST_TOKEN = token;
  process.env.MLOPS_TEST_ROOT = fs.realpathSync(root);
};
