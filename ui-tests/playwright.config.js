/**
 * Galata's Playwright configuration, pointed at Debian's Chromium (no browser
 * download) and at a JupyterLab started on a fresh workspace.
 */
const path = require('path');
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const port = process.env.MLOPS_UI_PORT || '8899';
const root = path.resolve(
  process.env.MLOPS_UI_ROOT_DIR || path.join(__dirname, '.galata-root')
);
process.env.MLOPS_UI_ROOT = root;

module.exports = {
  ...baseConfig,
  timeout: 120000,
  retries: process.env.CI ? 1 : 0,
  workers: 1,
  reporter: [
    ['list'],
    ['junit', { outputFile: 'test-results/junit.xml' }]
  ],
  use: {
    ...baseConfig.use,
    baseURL: `http://localhost:${port}`,
    trace: 'retain-on-failure',
    video: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    }
  },
  webServer: {
    // the server's log goes to a file: Galata's 404 probes would drown the test output
    command:
      'mkdir -p test-results && jupyter lab --config jupyter_server_test_config.py > test-results/jupyterlab.log 2>&1',
    url: `http://localhost:${port}/lab`,
    timeout: 120000,
    reuseExistingServer: false,
    env: { ...process.env, MLOPS_UI_PORT: port, JUPYTERLAB_GALATA_ROOT_DIR: root }
  }
};
