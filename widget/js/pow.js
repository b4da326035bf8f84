// The proof of work the server asks for during a flood of new chats (docs/protocol.md, flood
// control): find a counter n such that SHA-256(challenge + ":" + n) begins with `bits` zero
// bits. WebCrypto only (no third party, no worker file: a worker would have to come from the
// host page's origin). Digests run in parallel batches and the loop gives the page back every
// few milliseconds, so typing, scrolling and the quick exit never wait for it.

const BATCH = 256; // digests in flight at once
const YIELD_EVERY_MS = 25; // longest stretch without giving the page back

const encoder = new TextEncoder();
const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

function leadingZeroBits(buffer) {
  const bytes = new Uint8Array(buffer);
  let bits = 0;
  for (const byte of bytes) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/** Whether this browser can solve challenges (WebCrypto needs a secure context). */
export const canSolve = () => Boolean(globalThis.crypto && crypto.subtle);

/**
 * Resolve to the decimal counter that solves `challenge` at `bits` bits, or to "" when
 * `cancelled()` turns true first (the visitor left or closed the chat).
 */
export async function solve(challenge, bits, cancelled = () => false) {
  let next = 0;
  let lastYield = performance.now();
  for (;;) {
    if (cancelled()) return "";
    const first = next;
    const batch = [];
    for (let k = 0; k < BATCH; k += 1, next += 1) {
      batch.push(crypto.subtle.digest("SHA-256", encoder.encode(`${challenge}:${next}`)));
    }
    const digests = await Promise.all(batch);
    const found = digests.findIndex((digest) => leadingZeroBits(digest) >= bits);
    if (found >= 0) return String(first + found);
    if (performance.now() - lastYield > YIELD_EVERY_MS) {
      await nextTask();
      lastYield = performance.now();
    }
  }
}
