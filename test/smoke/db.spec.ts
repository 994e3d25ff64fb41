import { Client } from 'pg';
describe('database', () => {
  it('connects', async () => {
    const c = new Client({ connectionString: process.env.DATABASE_URL });
    await c.connect();
    const r = await c.query('select 1 as x');
    expect(r.rows[0].x).toBe(1);
    await c.end();
  });
});
