/**
 * A TCP relay that delays every chunk by a fixed time each way: targets on this one machine that
 * answer as if they were across a network. Run as its own process (the benchmark's runs are
 * synchronous): `node delayProxy.js DELAY_MS UPSTREAM_PORT...`; it prints the ports it listens on, in
 * the same order, as one JSON line.
 */
import * as net from 'node:net';

function relay(from: net.Socket, to: net.Socket, delayMs: number): void {
  // Timers of the same delay fire in the order they were set: bytes keep their order.
  from.on('data', (chunk) => setTimeout(() => to.write(chunk), delayMs));
  from.on('end', () => setTimeout(() => to.end(), delayMs));
  from.on('error', () => to.destroy());
}

async function listen(upstreamPort: number, delayMs: number): Promise<number> {
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect({ host: '127.0.0.1', port: upstreamPort });
    upstream.setNoDelay(true);
    relay(client, upstream, delayMs);
    relay(upstream, client, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function main(): Promise<void> {
  const [delay, ...upstreams] = process.argv.slice(2).map(Number);
  const ports = await Promise.all(upstreams.map((p) => listen(p, delay)));
  process.stdout.write(`${JSON.stringify(ports)}\n`);
}

void main();
