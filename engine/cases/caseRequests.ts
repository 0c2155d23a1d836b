import { z } from 'zod';
import { CASE_ACTIONS, type CaseAction } from './caseBook.ts';

/** A department's action on a case, as `POST /cases/actions` takes it (docs/cases.md). */
export const CaseActionRequest = z.strictObject({
  department: z.string().min(1).max(64),
  action: z.enum(Object.keys(CASE_ACTIONS) as [CaseAction, ...CaseAction[]]),
  case_id: z.string().max(64).optional(),
  alert_id: z.string().max(64).optional(),
  /** assign: the department that takes the case. */
  to: z.string().min(1).max(64).optional(),
  note: z.string().max(500).optional(),
});
export type CaseActionRequest = z.infer<typeof CaseActionRequest>;

/** An action taken on the map's console, as the map server writes it to `city.case-actions`. */
export const ConsoleAction = CaseActionRequest.extend({
  /** Who pressed it: `operator` (the operations centre's token) or `department:<id>`. */
  principal: z.string().max(100),
  action_id: z.string().max(200),
});
export type ConsoleAction = z.infer<typeof ConsoleAction>;
