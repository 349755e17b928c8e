export { DEMO_USERS, demoLetters, LETTER_STATUSES } from './demo-data.ts';
export { publishAiReplyRequest, publishFutureLetterEvents } from './publish.ts';
export { seedDemoData, type SeedResult } from './seed.ts';
