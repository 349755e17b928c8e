import { describe, expect, it } from 'vitest';
import { chooseChannels } from '../src/preferences/channels.ts';
import type { Recipient } from '../src/preferences/directory.ts';

const recipient: Recipient = {
  id: 'u1',
  email: 'u1@example.test',
  isActive: true,
  emailEnabled: true,
  quietHours: null,
  timezone: 'Asia/Shanghai',
  language: 'zh-CN',
  inspirationChannels: ['in_app'],
  webhookEnabled: true,
  webhookUrl: 'https://hooks.example.test/x',
};
const all = { email: true, webhook: true };

describe('channel choice', () => {
  it('follows the preferences: in-app always, e-mail with an address, webhook with a URL', () => {
    expect(chooseChannels({ channels: [], type: 'ai_reply_received' }, recipient, all)).toEqual([
      'in_app',
      'email',
      'webhook',
    ]);
    expect(
      chooseChannels(
        { channels: [], type: 'ai_reply_received' },
        { ...recipient, email: null, webhookUrl: null },
        all,
      ),
    ).toEqual(['in_app']);
    expect(
      chooseChannels({ channels: [], type: 'ai_reply_received' }, recipient, { email: false, webhook: true }),
    ).toEqual(['in_app', 'webhook']);
  });

  it('lets a request choose, and daily inspiration use the channels chosen for it', () => {
    expect(
      chooseChannels({ channels: ['webhook', 'webhook'], type: 'task_failed_alert' }, recipient, all),
    ).toEqual(['webhook']);
    expect(
      chooseChannels(
        { channels: [], type: 'daily_inspiration' },
        { ...recipient, inspirationChannels: ['email'] },
        all,
      ),
    ).toEqual(['email']);
    expect(
      chooseChannels(
        { channels: [], type: 'daily_inspiration' },
        { ...recipient, email: null, inspirationChannels: ['email'] },
        all,
      ),
    ).toEqual(['in_app']);
  });
});
