// A fake OpenAI-compatible chat API on loopback for the local demo:
//   FAKE_CHAT_PORT=8191 FAKE_CHAT_MODE=ok|error|malformed|empty|slow FAKE_CHAT_DELAY_MS=200 \
//     pnpm --filter @openpenpal/handler-ai-replies fake-chat-api
// then HANDLER_AI_PENPAL_REPLY_PROVIDER_BASE_URL=http://127.0.0.1:8191/v1 for the handler.
import { startFakeChatApi, type FakeChatMode } from '../fake/fake-chat-api.ts';

const modes: readonly FakeChatMode[] = ['ok', 'error', 'malformed', 'empty', 'slow'];
const mode = (process.env.FAKE_CHAT_MODE ?? 'ok') as FakeChatMode;
if (!modes.includes(mode)) throw new Error(`FAKE_CHAT_MODE must be one of ${modes.join(', ')}`);
const fake = await startFakeChatApi({
  port: Number(process.env.FAKE_CHAT_PORT ?? 8_191),
  mode,
  delayMs: Number(process.env.FAKE_CHAT_DELAY_MS ?? 200),
});
process.stdout.write(`fake chat API at ${fake.baseUrl} (${mode})\n`);
const stop = () => void fake.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
