// Headless Chromium (Debian's `chromium`) driven over the DevTools protocol
// on a pipe (--remote-debugging-pipe: file descriptors 3 and 4, messages
// separated by NUL), so no port, no websocket library and no network. Used
// to render pgshift's HTML report as a browser does, read the laid-out DOM,
// record every request the page makes, and take a screenshot. Also a small
// PNG decoder, to look at the screenshot's pixels.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import type { Readable, Writable } from 'node:stream';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

interface Message { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string }; sessionId?: string }

export class Browser {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  private readonly listeners: ((m: Message) => void)[] = [];
  private buffer = Buffer.alloc(0);
  private sessionId?: string;

  private constructor(private readonly child: ChildProcess, private readonly profile: string, private readonly input: Writable, output: Readable) {
    output.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      let i: number;
      while ((i = this.buffer.indexOf(0)) >= 0) {
        const m = JSON.parse(this.buffer.subarray(0, i).toString('utf8')) as Message;
        this.buffer = this.buffer.subarray(i + 1);
        const p = m.id !== undefined ? this.pending.get(m.id) : undefined;
        if (p) {
          this.pending.delete(m.id!);
          if (m.error) p.reject(new Error(m.error.message));
          else p.resolve(m);
        } else {
          for (const l of this.listeners) l(m);
        }
      }
    });
    child.on('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error('chromium exited'));
      this.pending.clear();
    });
  }

  /** Start chromium with an empty profile and the flags this closed network needs, and open one page. */
  static async launch(): Promise<Browser> {
    if (!CHROMIUM) throw new Error('chromium is not installed: run scripts/install-test-deps.sh (apt-get install -y chromium)');
    const profile = mkdtempSync(join(tmpdir(), 'pgshift-chromium-'));
    const child = spawn(CHROMIUM, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--hide-scrollbars', '--mute-audio', `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
    const b = new Browser(child, profile, child.stdio[3] as Writable, child.stdio[4] as Readable);
    const { targetId } = (await b.send('Target.createTarget', { url: 'about:blank' }, false)) as { targetId: string };
    const { sessionId } = (await b.send('Target.attachToTarget', { targetId, flatten: true }, false)) as { sessionId: string };
    b.sessionId = sessionId;
    return b;
  }

  send(method: string, params: Record<string, unknown> = {}, onPage = true): Promise<Record<string, unknown>> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: (m) => resolve(m.result ?? {}), reject });
      this.input.write(JSON.stringify({ id, method, params, ...(onPage && this.sessionId ? { sessionId: this.sessionId } : {}) }) + '\0');
    });
  }

  /** Wait for an event of the page (e.g. Page.loadEventFired). */
  waitEvent(method: string, timeoutMs = 30_000): Promise<Message> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${method} within ${timeoutMs} ms`)), timeoutMs);
      const l = (m: Message): void => {
        if (m.method === method) {
          clearTimeout(timer);
          this.listeners.splice(this.listeners.indexOf(l), 1);
          resolve(m);
        }
      };
      this.listeners.push(l);
    });
  }

  /** Every URL the page requests from now on. */
  recordRequests(): string[] {
    const urls: string[] = [];
    this.listeners.push((m) => {
      if (m.method === 'Network.requestWillBeSent') urls.push(String((m.params as { request: { url: string } }).request.url));
    });
    return urls;
  }

  /** Open a URL at a viewport size and wait for its load event. */
  async open(url: string, width: number, height: number): Promise<void> {
    await this.send('Page.enable');
    await this.send('Network.enable');
    await this.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    const loaded = this.waitEvent('Page.loadEventFired');
    await this.send('Page.navigate', { url });
    await loaded;
  }

  /** An expression's value, computed in the page (JSON-serialisable). */
  async evaluate<T>(expression: string): Promise<T> {
    const r = (await this.send('Runtime.evaluate', { expression, returnByValue: true })) as { result: { value: T }; exceptionDetails?: { text: string } };
    if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.text}`);
    return r.result.value;
  }

  /** A PNG of the whole page. */
  async screenshot(): Promise<Buffer> {
    const r = (await this.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true })) as { data: string };
    return Buffer.from(r.data, 'base64');
  }

  async close(): Promise<void> {
    await this.send('Browser.close', {}, false).catch(() => undefined);
    await new Promise<void>((resolve) => {
      if (this.child.exitCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
    rmSync(this.profile, { recursive: true, force: true });
  }
}

export interface Image {
  width: number;
  height: number;
  /** RGBA, row after row. */
  pixel(x: number, y: number): [number, number, number, number];
}

/** Decode an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes). */
export function decodePng(png: Buffer): Image {
  if (png.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') throw new Error('not a PNG');
  let off = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.subarray(off + 4, off + 8).toString('ascii');
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[12] !== 0) throw new Error('only 8-bit non-interlaced PNGs');
      colorType = data[9]!;
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const bpp = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  if (!bpp) throw new Error(`PNG colour type ${colorType} not supported`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? out[y * stride + i - bpp]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + i]! : 0;
      const c = i >= bpp && y > 0 ? out[(y - 1) * stride + i - bpp]! : 0;
      let v = line[i]!;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + i] = v & 0xff;
    }
  }
  return {
    width,
    height,
    pixel: (x, y) => {
      const i = y * stride + x * bpp;
      return [out[i]!, out[i + 1]!, out[i + 2]!, bpp === 4 ? out[i + 3]! : 255];
    },
  };
}
