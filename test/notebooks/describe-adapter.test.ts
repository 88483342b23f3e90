// describeAdapter on a folder whose adapter_config.json is broken: an error naming the file.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { describeAdapter } from "../../src/notebook/adapter.js";

describe("describeAdapter on a malformed adapter_config.json", () => {
  it.each([
    ['{"r": 8,', /^describeAdapter: .*adapter_config\.json is not valid JSON \(/],
    ["[1, 2]", /^describeAdapter: .*adapter_config\.json must hold a JSON object, got \[1,2\]$/],
    ["null", /^describeAdapter: .*adapter_config\.json must hold a JSON object, got null$/],
  ])("%s", (text, message) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-describe-"));
    fs.writeFileSync(path.join(dir, "adapter_config.json"), text);
    let error: unknown;
    try {
      describeAdapter(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(SyntaxError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(path.join(dir, "adapter_config.json"));
  });
});
