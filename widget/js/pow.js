// Proof of work (docs/protocol.md §6a); no worker: it would have to come from the host's origin.

const encoder = new TextEncoder();

const zeroBits = (buffer) => {
  let bits = 0;
  for (const byte of new Uint8Array(buffer)) {
    if (byte) return bits + Math.clz32(byte) - 24;
    bits += 8;
  }
  return bits;
};

// WebCrypto needs a secure context.
export const canSolve = () => Boolean(globalThis.crypto?.subtle);

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
