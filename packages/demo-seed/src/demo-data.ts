/** The demo's rows, relative to `now` (the first seeding's times stay: rows are never overwritten). */

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export interface DemoUser {
  id: string;
  username: string;
  nickname: string;
  email: string;
  role: string;
  timezone: string;
  language: string;
  quietHours: string;
  inspiration: boolean;
  channels: string[];
}

export const DEMO_USERS: readonly DemoUser[] = [
  {
    id: 'demo-alice',
    username: 'alice',
    nickname: '小艾',
    email: 'alice@demo.openpenpal.local',
    role: 'user',
    timezone: 'Asia/Shanghai',
    language: 'zh-CN',
    quietHours: '22:00-08:00',
    inspiration: true,
    channels: ['in_app', 'email'],
  },
  {
    id: 'demo-bob',
    username: 'bob',
    nickname: 'Bob',
    email: 'bob@demo.openpenpal.local',
    role: 'user',
    timezone: 'America/New_York',
    language: 'en',
    quietHours: '23:00-07:00',
    inspiration: true,
    channels: ['in_app'],
  },
  {
    id: 'demo-chen',
    username: 'chen',
    nickname: '陈同学',
    email: 'chen@demo.openpenpal.local',
    role: 'user',
    timezone: 'Europe/Berlin',
    language: 'zh-CN',
    quietHours: '22:00-08:00',
    inspiration: false,
    channels: ['in_app'],
  },
  {
    id: 'demo-dana',
    username: 'dana',
    nickname: 'Dana',
    email: 'dana@demo.openpenpal.local',
    role: 'user',
    timezone: 'Asia/Kolkata',
    language: 'en',
    quietHours: '21:30-06:30',
    inspiration: true,
    channels: ['in_app', 'email'],
  },
  {
    id: 'demo-eli',
    username: 'eli',
    nickname: 'Eli',
    email: 'eli@demo.openpenpal.local',
    role: 'user',
    timezone: 'Australia/Sydney',
    language: 'en',
    quietHours: '22:00-08:00',
    inspiration: true,
    channels: ['in_app'],
  },
  {
    id: 'demo-courier-1',
    username: 'courier1',
    nickname: '楼栋信使',
    email: 'c1@demo.openpenpal.local',
    role: 'courier_level1',
    timezone: 'Asia/Shanghai',
    language: 'zh-CN',
    quietHours: '23:00-07:00',
    inspiration: false,
    channels: ['in_app'],
  },
  {
    id: 'demo-courier-2',
    username: 'courier2',
    nickname: '片区信使',
    email: 'c2@demo.openpenpal.local',
    role: 'courier_level2',
    timezone: 'Asia/Shanghai',
    language: 'zh-CN',
    quietHours: '23:00-07:00',
    inspiration: false,
    channels: ['in_app'],
  },
  {
    id: 'demo-courier-3',
    username: 'courier3',
    nickname: '校级信使',
    email: 'c3@demo.openpenpal.local',
    role: 'courier_level3',
    timezone: 'Asia/Shanghai',
    language: 'zh-CN',
    quietHours: '23:00-07:00',
    inspiration: false,
    channels: ['in_app'],
  },
  {
    id: 'demo-courier-4',
    username: 'courier4',
    nickname: '城市信使',
    email: 'c4@demo.openpenpal.local',
    role: 'courier_level4',
    timezone: 'Asia/Shanghai',
    language: 'zh-CN',
    quietHours: '23:00-07:00',
    inspiration: false,
    channels: ['in_app'],
  },
  {
    id: 'demo-admin',
    username: 'admin',
    nickname: 'Ops',
    email: 'ops@demo.openpenpal.local',
    role: 'platform_admin',
    timezone: 'Asia/Shanghai',
    language: 'en',
    quietHours: '',
    inspiration: false,
    channels: ['in_app'],
  },
];

export const LETTER_STATUSES = [
  'draft',
  'generated',
  'collected',
  'in_transit',
  'delivered',
  'read',
  'approved',
  'rejected',
  'flagged',
  'archived',
  'scheduled',
  'published',
  'draft_cleanup',
] as const;

export interface DemoLetter {
  id: string;
  userId: string;
  recipientId: string | null;
  status: string;
  visibility: string;
  title: string;
  scheduledAt: Date | null;
  createdAt: Date;
}

/** One letter per status, old unbound drafts for the cleanup, and future letters due in the next minutes. */
export function demoLetters(now: number): DemoLetter[] {
  const writers = ['demo-alice', 'demo-bob', 'demo-chen', 'demo-dana', 'demo-eli'];
  const writer = (i: number) => writers[i % writers.length] ?? 'demo-alice';
  const letters: DemoLetter[] = LETTER_STATUSES.map((status, i) => ({
    id: `demo-letter-${status}`,
    userId: writer(i),
    recipientId: writer(i + 1),
    status,
    visibility: 'private',
    title: `A ${status} letter`,
    scheduledAt: status === 'scheduled' ? new Date(now + 30 * DAY) : null,
    createdAt: new Date(now - 2 * DAY),
  }));
  for (let i = 1; i <= 3; i += 1) {
    letters.push({
      id: `demo-old-draft-${i}`,
      userId: writer(i),
      recipientId: null,
      status: i === 3 ? 'generated' : 'draft',
      visibility: 'private',
      title: 'An old draft nobody sent',
      scheduledAt: null,
      createdAt: new Date(now - (8 + i) * DAY),
    });
  }
  // Written to the AI pen pal `poet`: the demo asks for its reply 3 minutes after this letter.
  letters.push({
    id: 'demo-ai-letter',
    userId: 'demo-alice',
    recipientId: null,
    status: 'delivered',
    visibility: 'private',
    title: 'To the poet, about the first snow',
    scheduledAt: null,
    createdAt: new Date(now),
  });
  // Due in 2, 4, 6, 8 and 10 minutes: to a friend, to oneself, public, to a friend, to a friend.
  const shapes = [
    { visibility: 'private', recipient: 'demo-bob' },
    { visibility: 'self', recipient: null },
    { visibility: 'public', recipient: null },
    { visibility: 'friends', recipient: 'demo-dana' },
    { visibility: 'private', recipient: 'demo-eli' },
  ];
  shapes.forEach((shape, i) => {
    letters.push({
      id: `demo-future-${i + 1}`,
      userId: 'demo-alice',
      recipientId: shape.recipient,
      status: 'scheduled',
      visibility: shape.visibility,
      title: `A letter to the future #${i + 1}`,
      scheduledAt: new Date(Math.ceil((now + (i + 1) * 2 * MINUTE) / 1000) * 1000),
      createdAt: new Date(now - DAY),
    });
  });
  return letters;
}

export interface DemoCourier {
  id: string;
  userId: string;
  name: string;
  level: number;
  zoneCode: string;
  parentId: string | null;
  prefix: string;
  rating: number;
}

export const DEMO_COURIERS: readonly DemoCourier[] = [
  {
    id: 'demo-courier-city',
    userId: 'demo-courier-4',
    name: '城市信使',
    level: 4,
    zoneCode: 'BJ',
    parentId: null,
    prefix: 'PK',
    rating: 4.9,
  },
  {
    id: 'demo-courier-school',
    userId: 'demo-courier-3',
    name: '校级信使',
    level: 3,
    zoneCode: 'BJ-PKU',
    parentId: 'demo-courier-city',
    prefix: 'PK5',
    rating: 4.7,
  },
  {
    id: 'demo-courier-area',
    userId: 'demo-courier-2',
    name: '片区信使',
    level: 2,
    zoneCode: 'BJ-PKU-5',
    parentId: 'demo-courier-school',
    prefix: 'PK5F',
    rating: 4.5,
  },
  {
    id: 'demo-courier-building',
    userId: 'demo-courier-1',
    name: '楼栋信使',
    level: 1,
    zoneCode: 'BJ-PKU-5F',
    parentId: 'demo-courier-area',
    prefix: 'PK5F3D',
    rating: 4.2,
  },
];

export interface DemoCourierTask {
  id: string;
  courierId: string | null;
  letterCode: string;
  status: string;
  acceptedAt: Date | null;
  deadline: Date | null;
}

/** An overdue task (accepted 50 h ago), one on time, one delivered, one waiting for a courier. */
export function demoCourierTasks(now: number): DemoCourierTask[] {
  const hours = (h: number) => new Date(now - h * 60 * MINUTE);
  return [
    {
      id: 'demo-task-overdue',
      courierId: 'demo-courier-building',
      letterCode: 'PK5F3D01',
      status: 'accepted',
      acceptedAt: hours(50),
      deadline: hours(2),
    },
    {
      id: 'demo-task-on-time',
      courierId: 'demo-courier-area',
      letterCode: 'PK5F3D02',
      status: 'in_transit',
      acceptedAt: hours(3),
      deadline: new Date(now + 45 * 60 * MINUTE),
    },
    {
      id: 'demo-task-delivered',
      courierId: 'demo-courier-building',
      letterCode: 'PK5F3D03',
      status: 'delivered',
      acceptedAt: hours(30),
      deadline: hours(-18),
    },
    {
      id: 'demo-task-available',
      courierId: null,
      letterCode: 'PK5F3D04',
      status: 'available',
      acceptedAt: null,
      deadline: null,
    },
  ];
}
