// A display channel that records every message, standing in for a tslab kernel.
import type { DisplayChannel, MimeData } from "../../src/notebook/channel.js";

export interface Message {
  data: MimeData;
  displayId: string | null;
  update: boolean;
}

export class RecordingChannel implements DisplayChannel {
  readonly kind = "bundle" as const;
  readonly messages: Message[] = [];

  write(data: MimeData, displayId: string | null, update: boolean): void {
    this.messages.push({ data, displayId, update });
  }

  /** The final content of every output, in the order outputs first appeared (updates applied). */
  outputs(): MimeData[] {
    const order: (string | number)[] = [];
    const latest = new Map<string | number, MimeData>();
    this.messages.forEach((m, i) => {
      const key = m.displayId ?? i;
      if (!m.update) order.push(key);
      latest.set(key, m.data);
    });
    return order.map((k) => latest.get(k)!);
  }

  html(): string[] {
    return this.outputs().map((o) => String(o["text/html"] ?? ""));
  }
}

export const PLOTLY = "application/vnd.plotly.v1+json";

/** The layout title of a Plotly output, or null when the output is not a figure. */
export function plotTitle(o: MimeData): string | null {
  const fig = o[PLOTLY] as { layout?: { title?: { text?: string } } } | undefined;
  return fig?.layout?.title?.text ?? null;
}
