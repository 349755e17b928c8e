/** One writing prompt (openpenpal-domain.md §4: theme, prompt, style, tags). */
export interface Prompt {
  theme: string;
  prompt: string;
  style: string;
  tags: readonly string[];
}

type Locale = 'zh-CN' | 'en';

interface BuiltinTheme {
  /** The platform's theme name (stored with the claim, sent as `theme` in zh-CN). */
  theme: string;
  en: string;
  prompts: readonly { 'zh-CN': string; en: string; style: string; tags: readonly string[] }[];
}

/** The platform's five themes, each with prompts in both template languages. */
const BUILTIN: readonly BuiltinTheme[] = [
  {
    theme: '日常小确幸',
    en: 'Small joys of the day',
    prompts: [
      {
        'zh-CN': '写下今天让你会心一笑的一个瞬间。',
        en: 'Write about one moment today that made you smile.',
        style: 'warm',
        tags: ['daily', 'joy'],
      },
      {
        'zh-CN': '描述一样你每天都会用到、却很少留意的小物件。',
        en: 'Describe a small object you use every day but rarely notice.',
        style: 'observational',
        tags: ['daily', 'objects'],
      },
      {
        'zh-CN': '给今天遇到的一个陌生人写几句话。',
        en: 'Write a few lines to a stranger you crossed paths with today.',
        style: 'gentle',
        tags: ['daily', 'people'],
      },
    ],
  },
  {
    theme: '成长的足迹',
    en: 'Footprints of growth',
    prompts: [
      {
        'zh-CN': '给一年前的自己写一封信，告诉TA你学会了什么。',
        en: 'Write to yourself a year ago about something you have learned since.',
        style: 'reflective',
        tags: ['growth', 'letter-to-self'],
      },
      {
        'zh-CN': '回忆一次失败，它后来带给了你什么？',
        en: 'Recall a failure. What did it bring you later?',
        style: 'honest',
        tags: ['growth', 'memory'],
      },
      {
        'zh-CN': '写下一个你正在慢慢改变的习惯。',
        en: 'Write about a habit you are slowly changing.',
        style: 'candid',
        tags: ['growth', 'habits'],
      },
    ],
  },
  {
    theme: '友情时光',
    en: 'Time with friends',
    prompts: [
      {
        'zh-CN': '给一位很久没联系的朋友写信，聊聊你们共同的回忆。',
        en: 'Write to a friend you have not spoken to in a while about a memory you share.',
        style: 'nostalgic',
        tags: ['friendship', 'memory'],
      },
      {
        'zh-CN': '描述朋友身上一个让你欣赏的特点。',
        en: 'Describe something you admire in a friend.',
        style: 'appreciative',
        tags: ['friendship'],
      },
      {
        'zh-CN': '如果可以和朋友一起去任何地方，你会选哪里？为什么？',
        en: 'If you could go anywhere with a friend, where would it be, and why?',
        style: 'playful',
        tags: ['friendship', 'travel'],
      },
    ],
  },
  {
    theme: '家的温度',
    en: 'The warmth of home',
    prompts: [
      {
        'zh-CN': '写下家里一道让你想念的菜，以及它背后的故事。',
        en: 'Write about a dish from home you miss and the story behind it.',
        style: 'tender',
        tags: ['family', 'food'],
      },
      {
        'zh-CN': '给家人写几句平时说不出口的话。',
        en: 'Write to a family member the words you rarely say out loud.',
        style: 'sincere',
        tags: ['family'],
      },
      {
        'zh-CN': '描述你记忆中家里最温暖的一个角落。',
        en: 'Describe the warmest corner of the home you remember.',
        style: 'descriptive',
        tags: ['family', 'memory'],
      },
    ],
  },
  {
    theme: '梦想点滴',
    en: 'Drops of dreams',
    prompts: [
      {
        'zh-CN': '写下一个你小时候的梦想，它现在怎么样了？',
        en: 'Write about a childhood dream. Where is it now?',
        style: 'wistful',
        tags: ['dreams', 'childhood'],
      },
      {
        'zh-CN': '想象十年后的某一天，给那天的自己写封信。',
        en: 'Imagine a day ten years from now and write to yourself on that day.',
        style: 'hopeful',
        tags: ['dreams', 'future'],
      },
      {
        'zh-CN': '为了一个目标，你这周迈出的最小一步是什么？',
        en: 'What is the smallest step you took this week toward a goal?',
        style: 'encouraging',
        tags: ['dreams', 'goals'],
      },
    ],
  },
];

const DAY_MS = 86_400_000;

/** A small stable hash (FNV-1a), so a user's prompt of a day is the same on every re-run. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The item at `index` modulo the list's length (the lists are fixed and never empty). */
function pick<T>(list: readonly T[], index: number): T {
  const item = list[((index % list.length) + list.length) % list.length];
  if (item === undefined) throw new TypeError('an empty prompt list');
  return item;
}

export function promptLocale(language: string): Locale {
  return language.trim().toLowerCase().startsWith('en') ? 'en' : 'zh-CN';
}

/**
 * The rotating built-in prompt of a local day: the theme turns daily through the five themes (all
 * users share the day's theme), the prompt within it differs by user; a pure function of the date
 * and the user, so a re-run picks the same one.
 */
export function builtinPrompt(localDate: string, userId: string, language: string): Prompt & { key: string } {
  const day = Math.floor(Date.parse(`${localDate}T00:00:00Z`) / DAY_MS);
  const theme = pick(BUILTIN, day);
  const prompt = pick(theme.prompts, hash(userId) + Math.floor(day / BUILTIN.length));
  const locale = promptLocale(language);
  return {
    key: theme.theme,
    theme: locale === 'en' ? theme.en : theme.theme,
    prompt: prompt[locale],
    style: prompt.style,
    tags: prompt.tags,
  };
}

export const BUILTIN_THEMES = BUILTIN.map((theme) => theme.theme);
