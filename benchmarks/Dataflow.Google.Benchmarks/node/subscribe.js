// Pulls and acks COUNT messages with the official client over REST (fallback) and prints the time taken.
// The high-level Subscription API needs StreamingPull, which the REST fallback cannot carry, so this uses the
// client's generated v1.SubscriberClient: PULLERS concurrent pull loops, each acking what it pulled.
// Usage: node subscribe.js <host:port> <project> <subscription> <count> [pullers]
const { v1 } = require('@google-cloud/pubsub');
const { PassThroughClient } = require('google-auth-library');

async function main() {
  const [hostPort, projectId, subscriptionId, countText, pullersText] = process.argv.slice(2);
  const count = Number(countText);
  const pullers = Number(pullersText ?? 2);
  const [host, port] = hostPort.split(':');
  const client = new v1.SubscriberClient({ apiEndpoint: host, port: Number(port), fallback: true, protocol: 'http', authClient: new PassThroughClient() });
  const subscription = `projects/${projectId}/subscriptions/${subscriptionId}`;
  let received = 0;
  const started = process.hrtime.bigint();
  async function loop() {
    while (received < count) {
      const [response] = await client.pull({ subscription, maxMessages: 1000, returnImmediately: true });
      const messages = response.receivedMessages ?? [];
      if (messages.length === 0) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      received += messages.length;
      await client.acknowledge({ subscription, ackIds: messages.map((m) => m.ackId) });
    }
  }
  await Promise.all(Array.from({ length: pullers }, loop));
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(JSON.stringify({ count: received, elapsedMs }));
  await client.close();
}

main().catch((e) => { console.error(e); process.exit(1); });
