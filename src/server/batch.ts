import { encodeBatch, HELLO } from '../protocol';

/**
 * Largest WebSocket frame or SSE batch built from several blocks, in UTF-16 units (at most 48 KiB
 * of UTF-8). Batching saves per-message cost; the cap keeps each message within what a client's
 * `maxMessageSize` accepts. A single larger block still goes out alone.
 */
export const BATCH_CHARS = 16 * 1024;

/** The hello is always a message of its own: a client tells our server from a plain one by it. */
const HELLO_BLOCK = 'data: ' + HELLO + '\n';

/**
 * The blocks one connection got since its last flush, as a node of a trie shared by every
 * connection of a tick: connections that got the same blocks in the same order (a broadcast, a
 * channel's members) end on the same node, so its wire bytes (a WebSocket frame, an SSE message, a
 * long-poll body) are built once and the same Buffer is written to each of them.
 */
export class Batch {
  /** Blocks from the root to here. */
  readonly count: number;
  /** The child for the last block asked, which is the next one for most connections of a fan-out. */
  private lastBlock: string | undefined;
  private lastChild: Batch | undefined;
  /** Other children, by block. */
  private children: Map<string, Batch> | undefined;
  private wsBytes: Buffer | undefined;
  private sseBytes: Buffer | undefined;
  private sseChunk: Buffer | undefined;
  private joined: string | undefined;
  private lpBytes: Buffer | undefined;

  /** A root: no blocks. A new one per tick lets the last tick's nodes go. */
  constructor();
  constructor(parent: Batch, block: string, line: string | undefined);
  constructor(
    private readonly parent?: Batch,
    readonly block?: string,
    /** The block's event as a line of an SSE batch, when it fits one (encodeBatchLine). */
    private readonly line?: string,
  ) {
    this.count = parent ? parent.count + 1 : 0;
  }

  /** The node for these blocks and then `block` (whose batch line is `line`, if it has one). */
  followedBy(block: string, line?: string): Batch {
    if (block === this.lastBlock) return this.lastChild!;
    // Most nodes only ever get one child: the map (which hashes each block) is made at the second.
    let child = this.lastChild && this.children?.get(block);
    if (!child) {
      child = new Batch(this, block, line);
      if (this.lastChild) {
        this.children ??= new Map([[this.lastBlock!, this.lastChild]]);
        this.children.set(block, child);
      }
    }
    this.lastBlock = block;
    this.lastChild = child;
    return child;
  }

  /**
   * True when this node's block is the hello. Only blocks without a batch line are read: reading a
   * block's start makes V8 flatten it, a copy of the whole event that SSE alone never needs.
   */
  isHello(): boolean {
    return this.line === undefined && this.block!.startsWith(HELLO_BLOCK);
  }

  /** The nodes from the root's child to here, in order: one per block. */
  private path(): Batch[] {
    const list = new Array<Batch>(this.count);
    let node: Batch = this;
    for (let i = this.count - 1; i >= 0; i--) {
      list[i] = node;
      node = node.parent!;
    }
    return list;
  }

  /** The blocks, in order. */
  blocks(): string[] {
    return this.path().map((node) => node.block!);
  }

  /** The blocks as one text (a long-poll body). */
  text(): string {
    return (this.joined ??= this.blocks().join(''));
  }

  /** {@link text} in UTF-8. */
  bytes(): Buffer {
    return (this.lpBytes ??= Buffer.from(this.text()));
  }

  /** The blocks as WebSocket text frames (server to client: unmasked), of at most {@link BATCH_CHARS} each but for one larger block. */
  websocket(): Buffer {
    if (this.wsBytes) return this.wsBytes;
    const frames: Buffer[] = [];
    for (const text of groups(this.path())) {
      const payload = Buffer.from(text.length === 1 ? text[0] : text.join(''));
      frames.push(frameHeader(payload.length), payload);
    }
    return (this.wsBytes = Buffer.concat(frames));
  }

  /**
   * The texts of {@link websocket}'s frames, for hosts whose WebSocket frames each message itself
   * (Bun, Deno: the fetch path). Not cached on the node, so the Node path's nodes stay as they were.
   */
  websocketTexts(): string[] {
    const texts: string[] = [];
    for (const text of groups(this.path())) texts.push(text.length === 1 ? text[0] : text.join(''));
    return texts;
  }

  /**
   * The blocks as SSE messages: runs of events as `$batch` messages of one line per event, and on
   * its own each block that has no batch line, the hello, and an event longer than a batch. Large
   * events are batched too: once a batch line was one line, 4 KiB events went 1.05–1.09× a bare
   * EventSource batched against 0.68–0.92× alone (server and browser on a core each).
   */
  eventSource(): Buffer {
    if (this.sseBytes) return this.sseBytes;
    // The chunk's middle: one encoding serves chunked streams and the others.
    const chunk = this.eventSourceChunk();
    return (this.sseBytes = chunk.subarray(chunk.indexOf(CRLF) + 2, chunk.length - 2));
  }

  /**
   * {@link eventSource} framed as one HTTP/1.1 chunk (`<size in hex>\r\n<bytes>\r\n`), so that a
   * chunked SSE response can be written straight to its socket: the same bytes for every stream.
   */
  eventSourceChunk(): Buffer {
    return (this.sseChunk ??= httpChunk(this.eventSourceText()));
  }

  private eventSourceText(): string {
    let text = '';
    let run: Batch[] = [];
    let chars = 0;
    const endRun = () => {
      text += run.length === 1 ? run[0].block! : encodeBatch(run.map((node) => node.line!));
      run = [];
      chars = 0;
    };
    for (const node of this.path()) {
      const block = node.block!;
      const line = node.line;
      // The hello has no batch line either.
      if (line === undefined) {
        if (run.length) endRun();
        text += block;
        continue;
      }
      if (run.length && chars + line.length > BATCH_CHARS) endRun();
      run.push(node);
      chars += line.length;
    }
    if (run.length) endRun();
    return text;
  }
}

const CRLF = '\r\n';

/** `text` in UTF-8 as one chunk of an HTTP/1.1 chunked body, encoded once, with no copy after. */
function httpChunk(text: string): Buffer {
  const size = Buffer.byteLength(text);
  const head = size.toString(16) + CRLF;
  const chunk = Buffer.allocUnsafe(head.length + size + 2);
  chunk.write(head, 0, 'latin1');
  chunk.write(text, head.length);
  chunk.write(CRLF, head.length + size, 'latin1');
  return chunk;
}

/** Splits blocks into runs of at most {@link BATCH_CHARS} characters; a hello is a run of its own. */
function* groups(nodes: Batch[]): Generator<string[]> {
  let group: string[] = [];
  let chars = 0;
  for (const node of nodes) {
    const block = node.block!;
    const alone = node.isHello();
    if (group.length && (alone || chars + block.length > BATCH_CHARS)) {
      yield group;
      group = [];
      chars = 0;
    }
    group.push(block);
    chars += block.length;
    if (alone) {
      yield group;
      group = [];
      chars = 0;
    }
  }
  if (group.length) yield group;
}

/** The header of an unmasked, final text frame of `length` bytes (RFC 6455 §5.2). */
function frameHeader(length: number): Buffer {
  if (length < 126) return Buffer.from([0x81, length]);
  if (length < 65536) {
    const header = Buffer.allocUnsafe(4);
    header[0] = 0x81;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
    return header;
  }
  const header = Buffer.allocUnsafe(10);
  header[0] = 0x81;
  header[1] = 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  return header;
}
