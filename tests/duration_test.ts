import { equal, throws } from "node:assert/strict";
import { DurationError, formatDuration, parseDuration } from "../src/config/duration.ts";

const H = 3_600_000;
const M = 60_000;

Deno.test("parseDuration: Go time.ParseDuration forms", () => {
  equal(parseDuration("1h"), H);
  equal(parseDuration("90m"), 90 * M);
  equal(parseDuration("43200s"), 12 * H);
  equal(parseDuration("1h30m"), 90 * M);
  equal(parseDuration("1.5h"), 90 * M);
  equal(parseDuration("300ms"), 300);
  equal(parseDuration("0"), 0);
  equal(parseDuration("-5s"), -5000);
});

Deno.test("parseDuration: invalid values name their source", () => {
  for (const bad of ["1", "h", "", "1x", "1h-", "abc", "1 h"]) {
    throws(() => parseDuration(bad, { source: "--duration" }), (e: Error) => {
      equal(e instanceof DurationError, true);
      equal(e.message.startsWith(`--duration: invalid duration ${JSON.stringify(bad)}`), true, e.message);
      return true;
    });
  }
});

Deno.test("formatDuration: Go Duration.String", () => {
  equal(formatDuration(0), "0s");
  equal(formatDuration(59 * M + 12_000), "59m12s");
  equal(formatDuration(H), "1h0m0s");
  equal(formatDuration(-5000), "-5s");
  equal(formatDuration(300), "300ms");
  equal(formatDuration(8 * H + 1500), "8h0m1.5s");
});
