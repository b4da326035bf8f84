// Flood control's proof of work (docs/protocol.md §6a): the counter n for which
// SHA-256(challenge + ":" + n) starts with `bits` zero bits. WebCrypto in parallel batches,
// giving the page back every 25 ms (no worker: it would have to come from the host's origin).

const encoder = new TextEncoder();

const zeroBits = (buffer) => {
  let bits = 0;
  for (const byte of new Uint8Array(buffer)) {
    if (byte) return bits + Math.clz32(byte) - 24;
    bits += 8;
  }
  return bits;
};

/** Whether this browser can solve challenges (WebCrypto needs a secure context). */
export const canSolve = () => Boolean(globalThis.crypto?.subtle);

/** The solving counter as a string, or "" once `cancelled()` is true. */
export async function solve(challenge, bits, cancelled = () => false) {
  let next = 0;
  let paused = performance.now();
  while (!cancelled()) {
    const batch = [];
    for (let k = 0; k < 256; k += 1) {
      batch.push(crypto.subtle.digest("SHA-256", encoder.encode(`${challenge}:${next + k}`)));
    }
    const found = (await Promise.all(batch)).findIndex((d) => zeroBits(d) >= bits);
    if (found >= 0) return String(next + found);
    next += 256;
    if (performance.now() - paused > 25) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      paused = performance.now();
    }
  }
  return "";
}
