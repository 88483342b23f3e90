// The Redis address of the job queue: `redis://[[USER]:PASS@]HOST[:PORT][/DB]`, or `rediss://…` for
// TLS. Parsed into connection options once; everything shown to a person (messages, logs, errors)
// goes through `redact`, so the password never reaches a terminal, a log or a run folder. A first
// connection check answers within seconds with what is wrong (unreachable, refused password).
import { isIP } from "node:net";
import { Redis, type RedisOptions } from "ioredis";

/** A parsed queue address. */
export interface QueueAddress {
  /** Options for ioredis (and so for BullMQ's connections). */
  connection: RedisOptions;
  /** The address with the password replaced by `***`: what messages show. */
  display: string;
  /** Hides the password in any text (an error from the client, a log line). */
  redact(text: string): string;
}

/** Parses a `redis://` or `rediss://` URL; throws an error (without the password) naming what is wrong. */
export function parseQueueUrl(text: string): QueueAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not echoed: a mistyped URL may still hold the password.
    throw new Error("--queue: not a URL; expected redis://[:PASSWORD@]HOST[:PORT][/DB] or rediss://… for TLS");
  }
  const secret = url.password ? decodeURIComponent(url.password) : "";
  const redact = (s: string) => {
    let out = s;
    for (const form of new Set([secret, url.password, encodeURIComponent(secret)])) {
      if (form) out = out.split(form).join("***");
    }
    return out;
  };
  const shown = new URL(url.href);
  if (shown.password) shown.password = "***";
  const display = shown.href.replace(/\/$/, "");
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new Error(`--queue: ${display}: expected a redis:// or rediss:// (TLS) URL, got ${url.protocol}//`);
  }
  if (!url.hostname) throw new Error(`--queue: ${display} names no host`);
  const dbText = url.pathname.replace(/^\//, "");
  const db = dbText === "" ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new Error(`--queue: ${display}: the database after the host must be a whole number, got "${dbText}"`);
  const port = url.port ? Number(url.port) : 6379;
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const connection: RedisOptions = {
    host,
    port,
    db,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(secret ? { password: secret } : {}),
    // TLS checks the server's certificate against Node's CAs (a private CA: NODE_EXTRA_CA_CERTS).
    ...(url.protocol === "rediss:" ? { tls: isIP(host) ? {} : { servername: host } } : {}),
  };
  return { connection, display, redact };
}

/**
 * Connects once, authenticates and pings, giving up after `timeoutMs`: resolves when Redis answers,
 * else rejects with one line naming the (redacted) address and the cause.
 */
export async function checkRedis(address: QueueAddress, timeoutMs = 5000): Promise<void> {
  const client = new Redis({
    ...address.connection,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // The cause comes as an "error" event (a refused password, a refused connection), while connect()
  // may only say that the connection closed: report the event's error when there was one.
  let cause: unknown = null;
  client.on("error", (e: unknown) => {
    cause ??= e;
  });
  const timer = new Promise<never>((_, reject) => {
    setTimeout(() => reject(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs).unref();
  });
  try {
    await Promise.race([client.connect().then(() => client.ping()), timer]);
  } catch (e) {
    throw new Error(`cannot use the Redis queue at ${address.display}: ${address.redact(explain(cause ?? e))}`);
  } finally {
    client.disconnect();
  }
}

/** The cause of a failed connection in words a user can act on. */
function explain(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const message = err?.message ?? String(e);
  if (/WRONGPASS|invalid password|invalid username-password/i.test(message)) return "Redis refused the user name or password";
  if (/NOAUTH/i.test(message)) return "Redis requires a password (redis://:PASSWORD@HOST:PORT)";
  if (err?.code === "ECONNREFUSED") return "connection refused (is redis-server running there, on that port?)";
  if (/certificate/i.test(message)) return `${message} (for a private CA, set NODE_EXTRA_CA_CERTS to its PEM file)`;
  if (err?.code === "ENOTFOUND" || err?.code === "EAI_AGAIN") return "unknown host";
  if (err?.code === "ETIMEDOUT" || /timed? ?out|no answer/i.test(message)) return `${message} (a firewall, a wrong host, or TLS on one side only: rediss:// for a TLS port, redis:// for a plain one)`;
  return message;
}
