import type { JourneyStatus } from '../../../lib/api';

/** Cancel is offered to an operator on a RUNNING journey, except an org's live (webhook) one, which stands for good. */
export function canCancel(journey: Pick<JourneyStatus['journey'], 'state' | 'kind'>, mayOperate: boolean): boolean {
  return mayOperate && journey.state === 'RUNNING' && journey.kind !== 'live';
}
