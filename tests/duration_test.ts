import { equal, throws } from "node:assert/strict";
import {
  DurationError,
  formatDuration,
  formatGoDuration,
  MAX_DURATION_MS,
  parseDuration,
} from "../src/config/duration.ts";

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

Deno.test("parseDuration: nothing beyond Go's longest duration parses, so no Infinity or 1e+24 reaches AWS", () => {
  const huge = ["9999999999999999h", "999999999999999999999999s", `${"9".repeat(400)}s`, "2562048h", "-2562048h"];
  for (const bad of huge) {
    throws(() => parseDuration(bad, { source: "--duration" }), (e: Error) => {
      equal(e instanceof DurationError, true);
      equal(
        e.message,
        `--duration: invalid duration ${JSON.stringify(bad)}: out of range (the longest is 2562047h47m16.854775807s)`,
      );
      return true;
    });
  }
  equal(parseDuration("2562047h47m16s"), MAX_DURATION_MS - 854.775807);
  equal(parseDuration("1ns"), 1e-6);
});

Deno.test("formatGoDuration: Go Duration.String below a second too", () => {
  equal(formatGoDuration(0), "0s");
  equal(formatGoDuration(1e-6), "1ns");
  equal(formatGoDuration(1.5e-3), "1.5µs");
  equal(formatGoDuration(1.25), "1.25ms");
  equal(formatGoDuration(899_500), "14m59.5s");
  equal(formatGoDuration(13 * H), "13h0m0s");
  equal(formatGoDuration(-5000), "-5s");
  equal(formatGoDuration(Infinity), "Infinity");
});
