#!/usr/bin/env node
// `npm run -s db:url`: the connection URL of the running embedded PostgreSQL (for pg_dump, psql).
// It holds the database password: print it only where you would type it. See README "Backups".
'use strict';
const { readFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
require('dotenv').config({ quiet: true });

const dataDir = resolve(process.env.DATA_DIR || './data');
function read(path, what) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    process.stderr.write(
      `no ${what} at ${path}: is the server using the embedded PostgreSQL in DATA_DIR=${dataDir}, and running?\n`,
    );
    process.exit(1);
  }
}
const { password } = JSON.parse(read(join(dataDir, 'postgres.credentials.json'), 'embedded database credentials'));
// postmaster.pid: pid, data folder, start time, port, ... (written while PostgreSQL runs).
const port = read(join(dataDir, 'postgres', 'postmaster.pid'), 'running embedded PostgreSQL')
  .split('\n')[3]
  .trim();
process.stdout.write(`postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres\n`);
