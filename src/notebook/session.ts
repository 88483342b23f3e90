// The notebook session: which display channel this process writes to, and outputs that can be
// replaced in place (a progress bar, a live chart).
//
// In a tslab kernel the channel is found on first use (or given with `connect(tslab)`); anywhere
// else it is the null channel, so the notebook API returns its values and shows nothing.

import { channelFromTslab, detectTslab, type DisplayChannel, type MimeData, newDisplayId, NULL_CHANNEL, type TslabModule } from "./channel.js";

let current: DisplayChannel | null = null;

/**
 * Sends notebook output through this tslab module (`import * as tslab from "tslab"`), or through
 * any DisplayChannel (tests). Optional in a tslab kernel, where the module is found by itself.
 */
export function connect(target: TslabModule | DisplayChannel): void {
  current = "write" in target ? target : channelFromTslab(target);
}

/** Forgets the channel (the next output looks for a kernel again). */
export function disconnect(): void {
  current = null;
}

/** The channel output goes to now: the connected one, the detected kernel's, or the null channel. */
export function channel(): DisplayChannel {
  if (current) return current;
  const tslab = detectTslab();
  if (!tslab) return NULL_CHANNEL;
  current = channelFromTslab(tslab);
  return current;
}

/** True when output is shown somewhere (a notebook kernel is connected). */
export function isLive(): boolean {
  return channel().kind !== "none";
}

/** An output cell entry that can be replaced in place. */
export class Output {
  private shown = false;
  private readonly id = newDisplayId();

  constructor(private readonly target: DisplayChannel = channel()) {}

  /** Shows `data` the first time, replaces it afterwards. */
  set(data: MimeData): void {
    this.target.write(data, this.id, this.shown);
    this.shown = true;
  }
}

/** Shows a mime bundle as a new output that is never updated. */
export function display(data: MimeData, target: DisplayChannel = channel()): void {
  target.write(data, null, false);
}
