// The queue's Redis address: what parseQueueUrl makes of each form of URL, and that the password
// never survives into what a person sees (the display form, redacted messages, errors).
import { describe, expect, it } from "vitest";
import { parseQueueUrl } from "../../../src/runtime/run/queue-url.js";

describe("parseQueueUrl", () => {
  it.each([
    ["redis://127.0.0.1:6390", { host: "127.0.0.1", port: 6390, db: 0 }, "redis://127.0.0.1:6390"],
    ["redis://queue-host", { host: "queue-host", port: 6379, db: 0 }, "redis://queue-host"],
    ["redis://:s3cr%40t@queue-host:6380/4", { host: "queue-host", port: 6380, db: 4, password: "s3cr@t" }, "redis://:***@queue-host:6380/4"],
    ["redis://alice:pw@[::1]:7000", { host: "::1", port: 7000, username: "alice", password: "pw" }, "redis://alice:***@[::1]:7000"],
    ["rediss://:pw@queue.example.com:6380", { host: "queue.example.com", tls: { servername: "queue.example.com" } }, "rediss://:***@queue.example.com:6380"],
    ["rediss://10.0.0.5:6380", { host: "10.0.0.5", tls: {} }, "rediss://10.0.0.5:6380"],
  ])("%s", (url, connection, display) => {
    const a = parseQueueUrl(url);
    expect(a.connection).toMatchObject(connection);
    expect(a.display).toBe(display);
  });

  it("redacts the password, plain or percent-encoded, in any text", () => {
    const a = parseQueueUrl("redis://:p%2Fw0rd@h:1");
    expect(a.connection.password).toBe("p/w0rd");
    expect(a.redact("AUTH p/w0rd failed for redis://:p%2Fw0rd@h:1")).toBe("AUTH *** failed for redis://:***@h:1");
  });

  it.each([
    ["http://h:1", /expected a redis:\/\/ or rediss:\/\/ \(TLS\) URL, got http:/],
    ["redis://:pw@h:1/x", /database after the host must be a whole number, got "x"/],
    ["redis//:pw@h:1", /not a URL/],
    ["redis://user:secret-pw@", /not a URL|names no host/],
  ])("rejects %s naming what is wrong, without the password", (url, message) => {
    let error = "";
    try {
      parseQueueUrl(url);
    } catch (e) {
      error = (e as Error).message;
    }
    expect(error).toMatch(message);
    expect(error).not.toMatch(/secret-pw|:pw@/);
  });
});
