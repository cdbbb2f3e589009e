// RefreshingCredentials: single flight, the AWS_MIN_TTL rule with an injected clock, the background refresh ahead of
// it, recovery after a failed refresh, and long-term keys cached for good.
import assert from "node:assert/strict";
import type { Credentials } from "../src/core/credentials.ts";
import { type CredentialsProvider } from "../src/credentials/provider.ts";
import { CredentialsError } from "../src/core/errors.ts";
import { RefreshingCredentials, ShortLivedCredentialsError } from "../src/server/credentials_cache.ts";

const MIN = 60_000;
const T0 = Date.parse("2030-01-01T00:00:00Z");

/** A provider whose answers the test scripts: each retrieve takes the next item (or waits for a release). */
class ScriptedProvider implements CredentialsProvider {
  readonly description = "scripted provider";
  calls = 0;
  #answers: (() => Credentials | Promise<Credentials>)[] = [];
  then(answer: () => Credentials | Promise<Credentials>): this {
    this.#answers.push(answer);
    return this;
  }
  retrieve(): Promise<Credentials> {
    this.calls++;
    const next = this.#answers.shift();
    if (!next) return Promise.reject(new Error("unexpected retrieve"));
    return Promise.resolve().then(next);
  }
}

function session(n: number, expiresAt: number): Credentials {
  return {
    accessKeyId: `ASIA${n}`,
    secretAccessKey: `secret${n}`,
    sessionToken: `token${n}`,
    expiration: new Date(expiresAt),
  };
}

function clock(start = T0) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

Deno.test("cache: concurrent callers share one retrieve", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const provider = new ScriptedProvider().then(async () => {
    await gate;
    return session(1, T0 + 60 * MIN);
  });
  const cache = new RefreshingCredentials(provider, clock());
  const all = Promise.all(Array.from({ length: 10 }, () => cache.get()));
  release();
  const got = await all;
  assert.equal(provider.calls, 1);
  assert.ok(got.every((c) => c.accessKeyId === "ASIA1"));
  assert.equal((await cache.get()).accessKeyId, "ASIA1");
  assert.equal(provider.calls, 1);
});

Deno.test("cache: never hands out credentials with less than minTtl left", async () => {
  const c = clock();
  const provider = new ScriptedProvider()
    .then(() => session(1, T0 + 60 * MIN))
    .then(() => session(2, T0 + 120 * MIN));
  const cache = new RefreshingCredentials(provider, { minTtl: 5 * MIN, refreshAhead: 0, now: c.now });
  assert.equal((await cache.get()).accessKeyId, "ASIA1");
  c.advance(55 * MIN); // exactly minTtl left: still fine
  assert.equal((await cache.get()).accessKeyId, "ASIA1");
  assert.equal(provider.calls, 1);
  c.advance(1); // just under minTtl: refresh before answering
  assert.equal((await cache.get()).accessKeyId, "ASIA2");
  assert.equal(provider.calls, 2);
});

Deno.test("cache: fresh credentials that already expire within minTtl are refused, not served", async () => {
  const provider = new ScriptedProvider()
    .then(() => session(1, T0 + 4 * MIN))
    .then(() => session(2, T0 + 60 * MIN));
  const cache = new RefreshingCredentials(provider, { minTtl: 5 * MIN, now: clock().now });
  await assert.rejects(cache.get(), (e: Error) => {
    assert.ok(e instanceof ShortLivedCredentialsError);
    assert.equal(
      e.message,
      "scripted provider returned credentials that expire in 4m0s, less than the minimum TTL of 5m0s (AWS_MIN_TTL)",
    );
    assert.doesNotMatch(e.message, /secret1|token1/);
    return true;
  });
  assert.equal((await cache.get()).accessKeyId, "ASIA2");
});

Deno.test("cache: one background refresh starts inside the refresh-ahead window, callers do not wait", async () => {
  const c = clock();
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const provider = new ScriptedProvider()
    .then(() => session(1, T0 + 60 * MIN))
    .then(async () => {
      await gate;
      return session(2, T0 + 120 * MIN);
    });
  const cache = new RefreshingCredentials(provider, { minTtl: 5 * MIN, refreshAhead: 5 * MIN, now: c.now });
  await cache.get();
  c.advance(50 * MIN + 1); // 10 min - 1 ms left: inside minTtl + refreshAhead
  assert.equal((await cache.get()).accessKeyId, "ASIA1", "answered at once with the current credentials");
  assert.equal((await cache.get()).accessKeyId, "ASIA1");
  assert.equal(provider.calls, 2, "one background refresh for both callers");
  release();
  await cache.settled();
  assert.equal((await cache.get()).accessKeyId, "ASIA2");
  assert.equal(provider.calls, 2);
});

Deno.test("cache: a failed background refresh is retried by the blocking refresh at minTtl", async () => {
  const c = clock();
  const provider = new ScriptedProvider()
    .then(() => session(1, T0 + 60 * MIN))
    .then(() => {
      throw new CredentialsError("p", "throttled", { operation: "sts:AssumeRole" });
    })
    .then(() => session(2, T0 + 120 * MIN));
  const cache = new RefreshingCredentials(provider, { minTtl: 5 * MIN, now: c.now });
  await cache.get();
  c.advance(52 * MIN);
  assert.equal((await cache.get()).accessKeyId, "ASIA1");
  await cache.settled();
  assert.equal((await cache.get()).accessKeyId, "ASIA1", "no second background attempt for the same session");
  assert.equal(provider.calls, 2);
  c.advance(4 * MIN); // 4 min left
  assert.equal((await cache.get()).accessKeyId, "ASIA2");
  assert.equal(provider.calls, 3);
});

Deno.test("cache: a failed refresh rejects every waiting caller and the next get retries", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const provider = new ScriptedProvider()
    .then(async () => {
      await gate;
      throw new CredentialsError("p", "AccessDenied: no", { operation: "sts:AssumeRole" });
    })
    .then(() => session(2, T0 + 60 * MIN));
  const cache = new RefreshingCredentials(provider, { now: clock().now });
  const waiting = [cache.get(), cache.get(), cache.get()];
  release();
  for (const p of waiting) await assert.rejects(p, /profile p: sts:AssumeRole failed: AccessDenied: no/);
  assert.equal(provider.calls, 1);
  assert.equal((await cache.get()).accessKeyId, "ASIA2");
  assert.equal(provider.calls, 2);
});

Deno.test("cache: long-term keys (no expiration) are cached for good", async () => {
  const c = clock();
  const provider = new ScriptedProvider().then(() => ({ accessKeyId: "AKIA1", secretAccessKey: "s" }));
  const cache = new RefreshingCredentials(provider, { now: c.now });
  assert.equal((await cache.get()).accessKeyId, "AKIA1");
  c.advance(365 * 24 * 60 * MIN);
  assert.equal((await cache.get()).accessKeyId, "AKIA1");
  assert.equal(provider.calls, 1);
});

Deno.test("cache: fresh() hands out the cached value only while get() would have nothing else to do", async () => {
  const c = clock();
  const provider = new ScriptedProvider().then(() => session(1, T0 + 60 * MIN)).then(() => session(2, T0 + 120 * MIN));
  const cache = new RefreshingCredentials(provider, { minTtl: 5 * MIN, refreshAhead: 10 * MIN, now: c.now });
  assert.equal(cache.fresh(), undefined, "nothing cached yet");
  const first = await cache.get();
  assert.equal(cache.fresh(), first);
  c.advance(46 * MIN); // 14 min left: inside the refresh-ahead window (5 + 10)
  assert.equal(cache.fresh(), undefined, "a refresh ahead is due: get() must start it");
  assert.equal(provider.calls, 1);
  assert.equal(await cache.get(), first, "still valid, handed out while the refresh runs");
  await cache.settled();
  assert.equal(provider.calls, 2);
  assert.equal(cache.fresh()?.accessKeyId, "ASIA2");
});

Deno.test("cache: credentials shorter-lived than the refresh window are refreshed once per lifetime, not per request", async () => {
  const c = clock();
  const SEC = 1000;
  const provider = new ScriptedProvider();
  for (let n = 1; n <= 4; n++) provider.then(() => session(n, c.now().getTime() + 20 * SEC));
  // minTtl 2 s + the default 5 min ahead would put fresh 20 s credentials inside the window at once.
  const cache = new RefreshingCredentials(provider, { minTtl: 2 * SEC, now: c.now });
  await cache.get();
  for (let i = 0; i < 8; i++) {
    c.advance(SEC); // 12 s left after 8 s: still outside the window (2 s + half of the 18 s beyond minTtl = 11 s)
    await cache.get();
    await cache.settled();
  }
  assert.equal(provider.calls, 1, "no refresh in the first half of the lifetime");
  c.advance(2 * SEC); // 10 s left: inside the window
  await cache.get();
  await cache.settled();
  assert.equal(provider.calls, 2, "one background refresh");
  for (let i = 0; i < 5; i++) {
    await cache.get();
    await cache.settled();
  }
  assert.equal(provider.calls, 2, "the new credentials are not refreshed again at once");
  assert.equal((await cache.get()).accessKeyId, "ASIA2");
});
