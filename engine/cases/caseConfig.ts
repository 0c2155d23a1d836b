import { z } from 'zod';
import { Duration } from '../alerts/duration.ts';

/**
 * The city's operating level, 1 (normal) to 5, from the cases open now (docs/cases.md), as Rio's
 * operations centre sets its stages. A rule names a level and the counts that raise the city to it; all
 * the counts a rule gives must be reached. The level is the highest whose rule holds, else 1.
 */
export const LevelRule = z
  .strictObject({
    level: z.number().int().min(2).max(5),
    /** Cases open (neither verified nor closed). */
    open: z.number().int().positive().optional(),
    /** Open cases of severity critical. */
    critical: z.number().int().positive().optional(),
    /** Places (districts or cells) with an open case. */
    places: z.number().int().positive().optional(),
  })
  .refine((r) => r.open !== undefined || r.critical !== undefined || r.places !== undefined, {
    message: 'a level rule needs at least one of open, critical, places',
  });
export type LevelRule = z.infer<typeof LevelRule>;

const PerSeverity = (info: number, warning: number, critical: number) =>
  z
    .object({
      info: Duration.default(info),
      warning: Duration.default(warning),
      critical: Duration.default(critical),
    })
    .prefault({});

/**
 * The `cases` section of the alert rules file (docs/cases.md): how alerts group into cases, how long a
 * department has to acknowledge and to close, and who is next when it does not acknowledge.
 */
export const CasesConfig = z
  .object({
    /** A firing alert joins a case of the same district (or cell) whose last alert is at most this old. */
    group_within: Duration.default(30 * 60_000),
    /** Time to acknowledge a dispatch, per severity; then the case escalates. */
    ack_within: PerSeverity(30 * 60_000, 10 * 60_000, 3 * 60_000),
    /** Time from opening to closing that counts as on time, per severity. */
    close_within: PerSeverity(24 * 3_600_000, 8 * 3_600_000, 2 * 3_600_000),
    /**
     * Departments (ids of this file) a case escalates to, in order, when the departments it was dispatched
     * to do not acknowledge in time: e.g. the duty leader, then the operations centre.
     */
    escalation: z.array(z.string()).default([]),
    /**
     * Who may verify, close, reopen and assign cases: the operations centre (the map's operator), and
     * departments of this file, which act by signed requests.
     */
    supervisors: z.array(z.string()).default(['operations-centre']),
    /** The city's operating level from the open cases (operatingLevel.ts); none: no level is kept. */
    levels: z.array(LevelRule).default([]),
  })
  .prefault({});
export type CasesConfig = z.infer<typeof CasesConfig>;
