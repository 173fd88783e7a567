import { describe, expect, it } from 'vitest';

import { journeyBody, parseTaskIds } from './body';

const values = { from: '2026-11-20T09:00', to: '2026-11-20T10:00', taskIds: '', pipelineVersion: '2' };

describe('start-a-journey body', () => {
  it('builds each kind', () => {
    expect(journeyBody('window', values)).toEqual({
      kind: 'window',
      from: new Date('2026-11-20T09:00').toISOString(),
      to: new Date('2026-11-20T10:00').toISOString(),
    });
    expect(journeyBody('tasks', { ...values, taskIds: 'a, b\nb c' })).toEqual({ kind: 'tasks', task_ids: ['a', 'b', 'c'] });
    expect(journeyBody('reprocess', { ...values, taskIds: 'x' })).toEqual({
      kind: 'reprocess',
      pipeline_version: 2,
      task_ids: ['x'],
    });
  });

  it('says what is wrong instead of sending a bad request', () => {
    expect(journeyBody('tasks', values)).toBe('Enter at least one task id.');
    expect(journeyBody('window', { ...values, to: values.from })).toBe('"From" must be before "To".');
    expect(journeyBody('reprocess', { ...values, pipelineVersion: '0' })).toMatch(/pipeline version/);
    expect(parseTaskIds(' ,, ')).toEqual([]);
  });
});
