import { isListeningRecord, LISTENING_EVENT, LOG_MSG } from '@soda/protocol';

describe('log records', () => {
  it('the listening record is recognised by its event and a port, not by its message text', () => {
    const rec = { event: LISTENING_EVENT, port: 4711, workers: 2, m: 6, n: 4, runId: 'r', tls: false };
    expect(isListeningRecord({ ...rec, msg: 'anything at all' })).toBe(true);
    expect(isListeningRecord({ ...rec, port: '4711' })).toBe(false);
    expect(isListeningRecord({ msg: 'waiting for workers 0/2', port: 4711 })).toBe(false);
    expect(isListeningRecord(null)).toBe(false);
    expect(LOG_MSG).toEqual({ start: 'start', progress: 'progress', summary: 'summary' });
  });
});
