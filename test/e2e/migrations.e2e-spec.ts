import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../src/database/data-source-options';
import { runMigrationsLocked } from '../../src/database/run-migrations';
import { createTestDatabase, queryDb } from '../helpers/test-database';

describe(runMigrationsLocked.name, () => {
  it('lets three replicas starting together on an empty database migrate once, without errors', async () => {
    const db = await createTestDatabase();
    const sources = await Promise.all(
      [1, 2, 3].map(() => new DataSource(buildDataSourceOptions(db.url, 2)).initialize()),
    );
    try {
      const ran = await Promise.all(sources.map((ds) => runMigrationsLocked(ds)));
      // One replica applied everything; the others waited and found nothing left to do.
      expect(ran.filter((r) => r.length > 0)).toHaveLength(1);
      const rows = await queryDb<{ name: string }>(db.url, 'SELECT name FROM migrations');
      expect(rows.map((r) => r.name).sort()).toEqual([...ran.find((r) => r.length > 0)!].sort());
    } finally {
      await Promise.all(sources.map((ds) => ds.destroy()));
      await db.drop();
    }
  });
});
