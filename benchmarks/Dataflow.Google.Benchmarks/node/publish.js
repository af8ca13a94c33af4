// Publishes COUNT messages of SIZE bytes with the official client over REST (fallback) and prints the time taken.
// Usage: node publish.js <host:port> <project> <topic> <count> <size>
const { PubSub } = require('@google-cloud/pubsub');
const { PassThroughClient } = require('google-auth-library');

async function main() {
  const [hostPort, projectId, topicId, countText, sizeText] = process.argv.slice(2);
  const count = Number(countText);
  const payload = Buffer.alloc(Number(sizeText), 'x');
  // REST fallback against the emulator; the emulator takes no credentials.
  const pubsub = new PubSub({ projectId, apiEndpoint: hostPort, fallback: true, protocol: 'http', authClient: new PassThroughClient() });
  const topic = pubsub.topic(topicId, { batching: { maxMessages: 100, maxMilliseconds: 10 } });
  // Warm-up: connection and client set-up are not part of the measurement.
  await topic.publishMessage({ data: payload });
  const started = process.hrtime.bigint();
  const pending = [];
  for (let i = 0; i < count; i++) {
    pending.push(topic.publishMessage({ data: payload, attributes: { n: String(i) } }));
  }
  const ids = await Promise.all(pending);
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (ids.length !== count) throw new Error(`expected ${count} ids, got ${ids.length}`);
  console.log(JSON.stringify({ count, elapsedMs }));
  await pubsub.close();
}

main().catch((e) => { console.error(e); process.exit(1); });
