// A TCP proxy a test controls, to put a network between two clusters and
// break it on demand. It listens on 127.0.0.1 (a free port) and forwards each
// connection to an upstream host:port. cut() simulates a partition:
//   - live connections are destroyed ('reset', what a rebooted middlebox or a
//     closed firewall conntrack entry looks like) or frozen ('stall': nothing
//     moves either way and nobody is told, as when a cable is pulled; only the
//     endpoints' own timeouts notice);
//   - new connections are accepted and then never answered ('blackhole': a
//     connect that hangs, as when SYNs or replies are dropped), or closed at
//     once ('refuse').
// heal() restores forwarding; frozen and held connections resume, as TCP
// retransmission would deliver them once the path is back. Importing this
// module does nothing.

import net from 'node:net';

export type ExistingMode = 'reset' | 'stall';
export type NewMode = 'blackhole' | 'refuse';

export interface CutOptions {
  /** What happens to connections open at the cut (default 'reset'). */
  existing?: ExistingMode;
  /** What happens to connections made during the cut (default 'blackhole'). */
  fresh?: NewMode;
}

/** One client connection and, once forwarding, its upstream. */
interface Link {
  client: net.Socket;
  upstream?: net.Socket;
  /** Bytes from the client held while the link is frozen or not yet forwarded. */
  held: Buffer[];
  /** Bytes from upstream held while the link is frozen. */
  heldDown: Buffer[];
}

export class TcpProxy {
  private server: net.Server;
  private links = new Set<Link>();
  private cutMode?: Required<CutOptions>;
  /** Connections accepted in total, and while cut. */
  accepted = 0;
  acceptedWhileCut = 0;

  private constructor(readonly upstreamHost: string, readonly upstreamPort: number) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /** Start a proxy to host:port on a free local port. */
  static async start(upstreamHost: string, upstreamPort: number): Promise<TcpProxy> {
    const p = new TcpProxy(upstreamHost, upstreamPort);
    await new Promise<void>((resolve, reject) => {
      p.server.once('error', reject);
      p.server.listen(0, '127.0.0.1', () => resolve());
    });
    return p;
  }

  get host(): string {
    return '127.0.0.1';
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get isCut(): boolean {
    return this.cutMode !== undefined;
  }

  /** Connections currently open through the proxy (forwarding, frozen or held). */
  get openConnections(): number {
    return this.links.size;
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    client.setNoDelay(true);
    if (this.cutMode?.fresh === 'refuse') {
      this.acceptedWhileCut++;
      client.destroy();
      return;
    }
    const link: Link = { client, held: [], heldDown: [] };
    this.links.add(link);
    client.on('error', () => this.drop(link));
    client.on('close', () => this.drop(link));
    client.on('data', (d: Buffer) => {
      if (link.upstream && !this.cutMode) link.upstream.write(d);
      else link.held.push(d);
    });
    if (this.cutMode) {
      // Black hole: accepted, never answered, until heal().
      this.acceptedWhileCut++;
      client.pause();
      return;
    }
    this.forward(link);
  }

  private forward(link: Link): void {
    const up = net.connect(this.upstreamPort, this.upstreamHost);
    link.upstream = up;
    up.setNoDelay(true);
    up.on('connect', () => {
      for (const d of link.held.splice(0)) up.write(d);
    });
    up.on('data', (d: Buffer) => {
      if (this.cutMode) link.heldDown.push(d);
      else link.client.write(d);
    });
    up.on('error', () => this.drop(link));
    up.on('close', () => this.drop(link));
    link.client.resume();
  }

  private drop(link: Link): void {
    if (!this.links.delete(link)) return;
    link.client.destroy();
    link.upstream?.destroy();
  }

  /** Break the path; see CutOptions for how. */
  cut(opts: CutOptions = {}): void {
    this.cutMode = { existing: opts.existing ?? 'reset', fresh: opts.fresh ?? 'blackhole' };
    for (const link of [...this.links]) {
      if (this.cutMode.existing === 'reset') {
        this.drop(link);
      } else {
        // Stop reading both ways: bytes pile up in the kernel buffers, then the writers block.
        link.client.pause();
        link.upstream?.pause();
      }
    }
  }

  /** Restore the path: frozen links move again, held connections are forwarded now. */
  heal(): void {
    if (!this.cutMode) return;
    this.cutMode = undefined;
    for (const link of [...this.links]) {
      if (link.upstream) {
        for (const d of link.held.splice(0)) link.upstream.write(d);
        for (const d of link.heldDown.splice(0)) link.client.write(d);
        link.upstream.resume();
        link.client.resume();
      } else {
        this.forward(link);
      }
    }
  }

  /** Stop listening and close every connection. */
  async close(): Promise<void> {
    for (const link of [...this.links]) this.drop(link);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
