module.exports = async () => {
  const child = globalThis.__MLOPS_SERVER__;
  if (child && child.exitCode === null) {
    process.kill(-child.pid, 'SIGTERM');
  }
};
