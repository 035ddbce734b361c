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
 * A block this long goes out as an SSE message of its own: a browser's cost per message is small
 * next to its bytes, and a batch would copy them once more on the server and again on the client.
 */
const SSE_ALONE_CHARS = 1024;

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
  private joined: string | undefined;
  private lpBytes: Buffer | undefined;

  /** A root: no blocks. A new one per tick lets the last tick's nodes go. */
  constructor();
  constructor(parent: Batch, block: string);
  constructor(
    private readonly parent?: Batch,
    private readonly block?: string,
  ) {
    this.count = parent ? parent.count + 1 : 0;
  }

  /** The node for these blocks and then `block`. */
  followedBy(block: string): Batch {
    if (block === this.lastBlock) return this.lastChild!;
    // Most nodes only ever get one child: the map (which hashes each block) is made at the second.
    let child = this.lastChild && this.children?.get(block);
    if (!child) {
      child = new Batch(this, block);
      if (this.lastChild) {
        this.children ??= new Map([[this.lastBlock!, this.lastChild]]);
        this.children.set(block, child);
      }
    }
    this.lastBlock = block;
    this.lastChild = child;
    return child;
  }

  /** The blocks, in order. */
  blocks(): string[] {
    const list = new Array<string>(this.count);
    let node: Batch = this;
    for (let i = this.count - 1; i >= 0; i--) {
      list[i] = node.block!;
      node = node.parent!;
    }
    return list;
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
    for (const text of groups(this.blocks())) {
      const payload = Buffer.from(text.length === 1 ? text[0] : text.join(''));
      frames.push(frameHeader(payload.length), payload);
    }
    return (this.wsBytes = Buffer.concat(frames));
  }

  /** The blocks as SSE messages: a single block (or a large one) as it is, several small ones as one `$batch` message. */
  eventSource(): Buffer {
    if (this.sseBytes) return this.sseBytes;
    let text = '';
    for (const group of groups(this.blocks(), SSE_ALONE_CHARS)) text += group.length === 1 ? group[0] : encodeBatch(group);
    return (this.sseBytes = Buffer.from(text));
  }
}

/**
 * Splits blocks into runs of at most {@link BATCH_CHARS} characters; a hello, and a block of
 * `aloneChars` or more, is a run of its own.
 */
function* groups(blocks: string[], aloneChars = Infinity): Generator<string[]> {
  let group: string[] = [];
  let chars = 0;
  for (const block of blocks) {
    const alone = block.length >= aloneChars || block.startsWith(HELLO_BLOCK);
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
