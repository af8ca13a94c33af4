'use strict';
// Conformance scenario: Google's official Node.js clients against the Dataflow stand-ins.
// Usage: node scenario.js <baseUrl> <projectId> <runId>. Prints one JSON document with every observed result.
const crypto = require('node:crypto');
const {Storage} = require('@google-cloud/storage');
const {BigQuery} = require('@google-cloud/bigquery');

async function storageScenario(base, projectId, runId) {
  const storage = new Storage({apiEndpoint: base, projectId, useAuthWithCustomEndpoint: false});
  const bucketName = `conf-${runId}`;
  const [bucket] = await storage.createBucket(bucketName);
  const small = Buffer.from('hello from the official client');
  await bucket.file('dir/small.txt').save(small, {resumable: false, contentType: 'text/plain', metadata: {metadata: {origin: 'node'}}});
  const large = crypto.randomBytes(3 * 1024 * 1024 + 123);
  await bucket.file('dir/large.bin').save(large, {resumable: true, chunkSize: 1024 * 1024, contentType: 'application/octet-stream'});
  await bucket.file('top.txt').save('top', {resumable: false});
  let conflict = null;
  try {
    await bucket.file('top.txt').save('again', {resumable: false, preconditionOpts: {ifGenerationMatch: 0}});
  } catch (e) {
    conflict = e.code;
  }
  const [files, , listResponse] = await bucket.getFiles({delimiter: '/', autoPaginate: false});
  // Page through one object at a time to exercise nextPageToken handling.
  const pagedNames = [];
  let pageQuery = {autoPaginate: false, maxResults: 1};
  let pages = 0;
  while (pageQuery && pages < 10) {
    const [page, nextQuery] = await bucket.getFiles(pageQuery);
    pagedNames.push(...page.map(f => f.name));
    pageQuery = nextQuery;
    pages++;
  }
  const [smallBack] = await bucket.file('dir/small.txt').download();
  const [largeBack] = await bucket.file('dir/large.bin').download();
  const [range] = await bucket.file('dir/large.bin').download({start: 10, end: 19});
  const [metadata] = await bucket.file('dir/small.txt').getMetadata();
  await bucket.file('dir/small.txt').delete();
  const [existsAfterDelete] = await bucket.file('dir/small.txt').exists();
  await bucket.file('dir/large.bin').delete();
  await bucket.file('top.txt').delete();
  await bucket.delete();
  const [bucketExists] = await bucket.exists();
  return {
    bucket: bucketName,
    topLevelNames: files.map(f => f.name),
    prefixes: (listResponse && listResponse.prefixes) || [],
    pagedNames,
    pages,
    conflictCode: conflict,
    smallRoundTrip: smallBack.equals(small),
    largeRoundTrip: largeBack.equals(large),
    largeSize: largeBack.length,
    rangeMatches: range.equals(large.subarray(10, 20)),
    contentType: metadata.contentType,
    customMetadata: metadata.metadata,
    crc32c: metadata.crc32c,
    md5Hash: metadata.md5Hash,
    expectedMd5: crypto.createHash('md5').update(small).digest('base64'),
    existsAfterDelete,
    bucketExists,
  };
}

async function bigQueryScenario(base, projectId, runId) {
  const bigquery = new BigQuery({apiEndpoint: base, projectId});
  const datasetId = `conf_${runId}`;
  const [dataset] = await bigquery.createDataset(datasetId);
  const schema = [
    {name: 'name', type: 'STRING', mode: 'REQUIRED'},
    {name: 'score', type: 'INTEGER'},
    {name: 'ratio', type: 'FLOAT'},
    {name: 'tags', type: 'STRING', mode: 'REPEATED'},
    {name: 'address', type: 'RECORD', fields: [{name: 'city', type: 'STRING'}, {name: 'zip', type: 'STRING'}]},
  ];
  const [table] = await dataset.createTable('people', {schema});
  await table.insert([
    {name: 'ada', score: 90, ratio: 0.5, tags: ['math', 'code'], address: {city: 'London', zip: 'N1'}},
    {name: 'grace', score: 85, ratio: 1.25, tags: [], address: {city: 'Arlington', zip: '22201'}},
    {name: 'linus', score: 70, ratio: 2, tags: ['kernel'], address: null},
  ]);
  let partial = null;
  try {
    await table.insert([{name: 'ok', score: 1}, {name: 'bad', score: 'not-a-number'}], {skipInvalidRows: true});
  } catch (e) {
    partial = {name: e.name, failed: (e.errors || []).map(x => ({name: x.row && x.row.name, reasons: x.errors.map(r => r.reason)}))};
  }
  const [rows] = await table.getRows();
  const [queryRows] = await bigquery.query({
    query: `SELECT name, score FROM \`${projectId}.${datasetId}.people\` WHERE score >= @min ORDER BY score DESC`,
    params: {min: 80},
  });
  const [grouped] = await bigquery.query(`SELECT COUNT(*) AS n, MAX(score) AS best FROM ${datasetId}.people WHERE name LIKE '%a%'`);
  let badQuery = null;
  try {
    await bigquery.query('SELECT FROM WHERE');
  } catch (e) {
    badQuery = {code: e.code, reason: e.errors && e.errors[0] && e.errors[0].reason};
  }
  const [tables] = await dataset.getTables();
  await dataset.delete({force: true});
  const [datasetExists] = await dataset.exists();
  return {
    dataset: datasetId,
    tables: tables.map(t => t.id),
    partial,
    rows: rows.map(r => ({name: r.name, score: r.score, ratio: r.ratio, tags: r.tags, city: r.address ? r.address.city : null})).sort((a, b) => a.name.localeCompare(b.name)),
    queryRows,
    grouped,
    badQuery,
    datasetExists,
  };
}

async function main() {
  const [base, projectId, runId] = process.argv.slice(2);
  const result = {
    storage: await storageScenario(base, projectId, runId),
    bigquery: await bigQueryScenario(base, projectId, runId),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch(error => {
  process.stderr.write(`scenario failed: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
