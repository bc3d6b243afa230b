// node-postgres against Strata's wire endpoint (run by tests/python/test_sqlwire_node.py with PGHOST, PGPORT,
// PGDATABASE, PGUSER set and NODE_PATH at the folder scripts/node-clients installs into). Exits non-zero on
// the first mismatch.
const assert = require('node:assert/strict');
const { Client } = require('pg');

async function main() {
  const client = new Client();
  await client.connect();
  try {
    let r = await client.query(
      'SELECT id, name, amount, score, at_tz, day, flag FROM clean.typed ORDER BY id');
    assert.equal(r.rows.length, 3);
    const [a, b, c] = r.rows;
    assert.equal(a.id, '1'); // int8 arrives as a string in node-postgres
    assert.equal(a.name, 'Zoë ✓ 日本');
    assert.equal(a.amount, '12.345');
    assert.equal(a.score, 1.5);
    assert.equal(a.at_tz.toISOString(), '2026-07-01T12:00:00.250Z');
    assert.equal(a.flag, true);
    assert.deepEqual(Object.values(b).slice(1), [null, null, null, null, null, null]);
    assert.equal(c.name, '');
    assert.equal(c.amount, '-0.500');
    assert.ok(Number.isNaN(c.score));
    assert.equal(c.flag, false);

    r = await client.query('SELECT label FROM clean.big WHERE id = $1', [41]);
    assert.deepEqual(r.rows, [{ label: 'row 41' }]);
    r = await client.query({ name: 'byid', text: 'SELECT count(*) AS n FROM clean.big WHERE id < $1', values: [1000] });
    assert.equal(r.rows[0].n, '1000');
    r = await client.query({ name: 'byid', text: 'SELECT count(*) AS n FROM clean.big WHERE id < $1', values: [10] });
    assert.equal(r.rows[0].n, '10', 'a named prepared statement is reused');

    r = await client.query(
      "SELECT '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID AS u, '{\"a\": [1, null]}'::JSON AS j, " +
      "[1, NULL, 3]::INTEGER[] AS ints, ['x y', NULL]::VARCHAR[] AS texts, $1::TEXT || '!' AS p", ['Zoë']);
    assert.deepEqual(r.rows[0], { u: '6ba7b810-9dad-11d1-80b4-00c04fd430c8', j: { a: [1, null] },
      ints: [1, null, 3], texts: ['x y', null], p: 'Zoë!' });
    assert.equal(r.fields.find((f) => f.name === 'u').dataTypeID, 2950);
    assert.equal(r.fields.find((f) => f.name === 'j').dataTypeID, 114);

    await client.query("SET TimeZone = 'Asia/Kolkata'");
    r = await client.query('SELECT at_tz::TIMESTAMPTZ AS t FROM clean.typed WHERE id = 1');
    assert.equal(r.rows[0].t.toISOString(), '2026-07-01T12:00:00.250Z', 'the instant survives the zone');

    await assert.rejects(client.query('SELECT * FROM clean.nope'), (e) => e.code === '42P01');
    r = await client.query('SELECT 1 AS one');
    assert.equal(r.rows[0].one, 1, 'the session survives an error');
  } finally {
    await client.end();
  }
  console.log('ok');
}

main().catch((e) => { console.error(e); process.exit(1); });
