/**
 * The kinds of audit log entries: the ways credentials leave aws-vault (docs/behaviour.md#audit-log). Kept apart from
 * the log itself, because the command-line declarations, loaded on every start, offer them to `log --event`.
 * @module
 */

/** The events of the audit log, in the order the docs describe them. */
export const AUDIT_EVENTS = ["exec", "export", "ecs-server", "ec2-server", "login"] as const;

/** One of {@link AUDIT_EVENTS}. */
export type AuditEvent = typeof AUDIT_EVENTS[number];
