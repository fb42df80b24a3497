/**
 * How long blocks take, to say a deadline in blocks "roughly in time": the mean interval
 * over the last `PACE_SPAN_BLOCKS` finalized blocks (their header timestamps), measured
 * again at most every `PACE_EVERY_MS`. Idle chains make blocks slower, so it is a rough
 * figure and the pages say so ("about").
 */
import { client, head } from "./chain";
import { language } from "./i18n";
import { createStore, useStore } from "./store";

export const PACE_SPAN_BLOCKS = 20;
export const PACE_EVERY_MS = 60_000;

/** Milliseconds per block, or null while unknown. */
export const pace = createStore<number | null>(null);
let measuredAt = -Infinity;
let measuring = false;

async function measure(): Promise<void> {
  const height = head.get().height;
  if (measuring || height < 2 || performance.now() - measuredAt < PACE_EVERY_MS) return;
  measuring = true;
  try {
    const from = Math.max(1, height - PACE_SPAN_BLOCKS);
    const [last, first] = await Promise.all([
      client.block(height, false),
      client.block(from, false),
    ]);
    const blocks = last.header.height - first.header.height;
    if (blocks > 0) {
      pace.set(Math.max(1, (last.header.timestamp_ms - first.header.timestamp_ms) / blocks));
      measuredAt = performance.now();
    }
  } catch {
    // A rough figure only: try again on the next call.
  } finally {
    measuring = false;
  }
}

/** `blocks` blocks from now in words ("about 3 min"), or "" while the pace is unknown. */
export function roughly(blocks: number): string {
  const ms = pace.get();
  if (ms === null || blocks <= 0) return "";
  const seconds = Math.round((blocks * ms) / 1000);
  const zh = language.get() === "zh";
  if (seconds < 90) return zh ? `约 ${seconds} 秒` : `about ${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return zh ? `约 ${minutes} 分钟` : `about ${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return zh ? `约 ${hours} 小时` : `about ${hours} h`;
  const days = Math.round(hours / 24);
  return zh ? `约 ${days} 天` : `about ${days} days`;
}

/** The pace, measured when it is stale; re-renders when it is known. */
export function usePace(): number | null {
  const value = useStore(pace);
  void measure();
  return value;
}
