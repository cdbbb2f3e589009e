/**
 * The few XML shapes of the AWS Query protocol: result envelopes, error envelopes and escaped elements.
 * @module
 */

/** Escapes text for XML content. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A value an element can hold: text, number, boolean or timestamp. */
export type XmlValue = string | number | boolean | Date;

/** ISO 8601 UTC without milliseconds (`2026-01-01T00:00:00Z`), the form AWS XML timestamps take. */
export function isoSeconds(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** An element with escaped text content; `undefined` gives nothing, so optional fields can be written inline. */
export function text(name: string, value: XmlValue | undefined): string {
  if (value === undefined) return "";
  const content = value instanceof Date ? isoSeconds(value) : String(value);
  return `<${name}>${escapeXml(content)}</${name}>`;
}

/** An element around already-built XML. */
export function node(name: string, ...children: string[]): string {
  return `<${name}>${children.join("")}</${name}>`;
}

/** Elements from an object's fields, in insertion order, skipping undefined ones. */
export function fields(values: Record<string, XmlValue | undefined>): string {
  return Object.entries(values).map(([name, value]) => text(name, value)).join("");
}

/** A Query-protocol list: `<name><member>…</member>…</name>`. */
export function memberList(name: string, items: string[]): string {
  return node(name, ...items.map((item) => node("member", item)));
}

/** `<ActionResponse xmlns><ActionResult>…</ActionResult><ResponseMetadata>…` (no Result when `result` is undefined). */
export function queryResponse(
  action: string,
  result: string | undefined,
  options: { xmlns: string; requestId: string },
): string {
  const body = (result === undefined ? "" : node(`${action}Result`, result)) +
    node("ResponseMetadata", text("RequestId", options.requestId));
  return `<${action}Response xmlns="${options.xmlns}">${body}</${action}Response>\n`;
}

/** `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`. */
export function queryError(
  error: { type: string; code: string; message: string },
  options: { xmlns: string; requestId: string },
): string {
  const inner = node("Error", fields({ Type: error.type, Code: error.code, Message: error.message }));
  return `<ErrorResponse xmlns="${options.xmlns}">${inner}${text("RequestId", options.requestId)}</ErrorResponse>\n`;
}
