// SPDX-License-Identifier: MIT
// Starts a real AT Protocol PDS (@atproto/pds) and an in-memory PLC directory
// (@did-plc/server) on 127.0.0.1 for multivio's end-to-end tests.
//
//   node start-pds.mjs [INSTALL_DIR]
//
// INSTALL_DIR is where scripts/setup-pds installed the packages (default: this
// file's directory); run it with the Node 22 installed there. Both servers take
// free ports from the kernel, and all state lives in a temporary directory that
// is removed on exit. When both are ready, one JSON line goes to stdout:
//   {"url": "http://127.0.0.1:PORT", "plc": "http://127.0.0.1:PORT", "admin_password": "..."}
// Invite codes are off, so com.atproto.server.createAccount works without one;
// handles end in ".test". The process exits when stdin closes (whoever started
// it is gone) or on SIGTERM/SIGINT; a failure to start prints to stderr and
// exits 1.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HOST = '127.0.0.1';
const installDir = resolve(process.argv[2] ?? dirname(fileURLToPath(import.meta.url)));
const hex = (bytes) => randomBytes(bytes).toString('hex');

// Binds 127.0.0.1:0 before the app exists: the PDS's public URL names its port,
// and nothing else can take the port in between.
async function listen() {
  const server = createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  return server;
}

async function close(server) {
  if (!server?.listening) return;
  server.closeAllConnections();
  await new Promise((done) => server.close(() => done()));
}

const dataDir = mkdtempSync(join(tmpdir(), 'multivio-pds-'));
let plcHttp, pdsHttp, plc, pds;
let stopping = false;

async function stop(code) {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(code), 5000).unref(); // a hung shutdown still ends
  try {
    await close(pdsHttp);
    await close(plcHttp);
    await pds?.ctx?.destroy?.();
    await plc?.ctx?.db?.close?.();
  } catch (err) {
    process.stderr.write(`start-pds: shutdown: ${err?.stack ?? err}\n`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(code);
  }
}

process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
process.stdin.on('end', () => stop(0));
process.stdin.on('error', () => stop(0));
process.stdin.resume();

try {
  // The packages live in INSTALL_DIR, not next to this file in the source tree.
  const requireFrom = createRequire(join(installDir, 'package.json'));
  const { PDS, envToCfg, envToSecrets } = await import(pathToFileURL(requireFrom.resolve('@atproto/pds')).href);
  const { PlcServer, Database: PlcDatabase } = requireFrom('@did-plc/server');

  plcHttp = await listen();
  plc = PlcServer.create({ db: PlcDatabase.mock(), port: plcHttp.address().port });
  plcHttp.on('request', plc.app);
  const plcUrl = `http://${HOST}:${plcHttp.address().port}`;

  pdsHttp = await listen();
  const port = pdsHttp.address().port;
  const adminPassword = hex(16);
  // The fields of @atproto/pds's ServerEnvironment (what it reads from PDS_*).
  const env = {
    port,
    hostname: 'localhost', // public URL http://localhost:PORT; account handles end in .test
    devMode: true,
    version: '0.0.0',
    dataDirectory: dataDir,
    blobstoreDiskLocation: join(dataDir, 'blobs'),
    didPlcUrl: plcUrl,
    jwtSecret: hex(32),
    dpopSecret: hex(32),
    adminPassword,
    plcRotationKeyK256PrivateKeyHex: hex(32),
    inviteRequired: false,
    rateLimitsEnabled: false,
    crawlers: [],
  };
  pds = await PDS.create(envToCfg(env), envToSecrets(env));
  // What PDS.start() does, minus its listen() on every interface.
  await pds.ctx.sequencer.start();
  pdsHttp.keepAliveTimeout = 90_000;
  pdsHttp.on('request', pds.app);

  process.stdout.write(`${JSON.stringify({ url: `http://${HOST}:${port}`, plc: plcUrl, admin_password: adminPassword })}\n`);
} catch (err) {
  process.stderr.write(`start-pds: ${err?.stack ?? err}\n`);
  await stop(1);
}
