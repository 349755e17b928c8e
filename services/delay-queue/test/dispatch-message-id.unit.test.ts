import { describe, expect, it } from 'vitest';
import { dispatchMessageId } from '../src/dispatch-batch.ts';

describe('message-id of a dispatched message', () => {
  it('is the delayed-message id for the first generation, so a redelivery repeats it', () => {
    expect(dispatchMessageId('future_letter_unlock:ltr_1', 0)).toBe('future_letter_unlock:ltr_1');
  });

  it('is a UUID v5 of generation and id for a replacement, stable across redeliveries', () => {
    // Values computed with the uuid package's v5 and the namespace d7d0eb40-dcb8-4cc6-8159-9629d4b365e8.
    expect(dispatchMessageId('a', 1)).toBe('2b6383e9-1803-5ac3-bd0a-7b3dce636577');
    expect(dispatchMessageId('future_letter_unlock:ltr_1', 7)).toBe('e1bce93a-a1a8-5cce-ab65-9e7075249a5e');
    expect(dispatchMessageId('ünï', 2)).toBe('72869685-2872-5bf1-b0ac-372a7b3bd110');
  });

  it('cannot be forged by an id that spells out a generation suffix', () => {
    const ids = new Set([
      dispatchMessageId('a', 1),
      dispatchMessageId('a', 2),
      dispatchMessageId('a#1', 0),
      dispatchMessageId('1:a', 0),
      dispatchMessageId('b', 1),
    ]);
    expect(ids.size).toBe(5);
  });
});
