import { describe, expect, it } from 'vitest';
import { compareEventIds, EventCursor } from './replay';

describe('event ids', () => {
  it('order by time, then sequence, as numbers', () => {
    expect(compareEventIds('1700000000000-0', '1700000000000-1')).toBeLessThan(0);
    expect(compareEventIds('1700000000001-0', '1700000000000-9')).toBeGreaterThan(0);
    expect(compareEventIds('9-10', '9-9')).toBeGreaterThan(0);
    expect(compareEventIds('5-5', '5-5')).toBe(0);
  });

  it('refuse what is not an event id', () => {
    expect(() => compareEventIds('abc', '1-0')).toThrow(/not an event id/);
  });
});

describe('EventCursor', () => {
  it('handles each event once when a replay overlaps live delivery', () => {
    const cursor = new EventCursor();
    const live = ['10-0', '10-1', '11-0'];
    const replay = ['10-1', '11-0', '12-0', '12-1'];
    const handled = [...live, ...replay].filter((id) => cursor.accept(id));
    expect(handled).toEqual(['10-0', '10-1', '11-0', '12-0', '12-1']);
    expect(cursor.last).toBe('12-1');
  });

  it('resumes after the id it was given', () => {
    const cursor = new EventCursor('20-3');
    expect(cursor.accept('20-3')).toBe(false);
    expect(cursor.accept('20-2')).toBe(false);
    expect(cursor.accept('20-4')).toBe(true);
  });
});
