import type { NotificationType } from '@openpenpal/contracts';

export type Locale = 'zh-CN' | 'en';
export const LOCALES: readonly Locale[] = ['zh-CN', 'en'];

/** The types the notifier delivers (`unknown` is what a newer type reads as, and is refused). */
export type DeliverableType = Exclude<NotificationType, 'unknown'>;

/**
 * How a variable is shown. `text`: as given, trimmed and cut to 80 characters. `code`: a letter or
 * courier code masked to its last 4 characters (a full code lets anyone pick up the letter).
 * `date`: an ISO date (YYYY-MM-DD), checked. `persona`: one of the eight AI personas, by its name in
 * the language.
 */
type VariableKind = 'text' | 'code' | 'date' | 'persona';

export interface VariableSpec {
  kind: VariableKind;
  required: boolean;
}

export interface TypeTemplates {
  variables: Readonly<Record<string, VariableSpec>>;
  /** Title and body per language; `{{name}}` is a variable, `{{name?text}}` shows text only when it is set. */
  text: Readonly<Record<Locale, { title: string; body: string }>>;
}

const required = (kind: VariableKind): VariableSpec => ({ kind, required: true });
const optional = (kind: VariableKind): VariableSpec => ({ kind, required: false });

export const PERSONA_NAMES: Readonly<Record<string, Record<Locale, string>>> = {
  poet: { 'zh-CN': '诗人', en: 'the Poet' },
  philosopher: { 'zh-CN': '哲学家', en: 'the Philosopher' },
  artist: { 'zh-CN': '艺术家', en: 'the Artist' },
  scientist: { 'zh-CN': '科学家', en: 'the Scientist' },
  traveler: { 'zh-CN': '旅行者', en: 'the Traveler' },
  historian: { 'zh-CN': '历史学家', en: 'the Historian' },
  mentor: { 'zh-CN': '导师', en: 'the Mentor' },
  friend: { 'zh-CN': '朋友', en: 'your Friend' },
};

/**
 * Titles and bodies of every type (openpenpal-domain.md §5). They never show letter content: the
 * only variables are the ones listed, and codes are masked.
 */
export const TEMPLATES: Readonly<Record<DeliverableType, TypeTemplates>> = {
  future_letter_unlocked: {
    variables: { sender_name: optional('text') },
    text: {
      'zh-CN': {
        title: '一封未来信已经解锁',
        body: '{{sender_name?{{sender_name}} }}写给你的未来信已到开启时间，快去 OpenPenPal 查看吧。',
      },
      en: {
        title: 'A future letter is unlocked',
        body: 'A future letter{{sender_name? from {{sender_name}}}} has reached its opening time. Open OpenPenPal to read it.',
      },
    },
  },
  ai_reply_received: {
    variables: { persona: required('persona') },
    text: {
      'zh-CN': { title: '你收到了一封回信', body: '{{persona}}给你回信了，去信箱看看吧。' },
      en: {
        title: 'You have a reply',
        body: '{{persona}} has written back to you. Have a look in your mailbox.',
      },
    },
  },
  courier_timeout_reminder: {
    variables: { letter_code: optional('code'), timeout_hours: optional('text') },
    text: {
      'zh-CN': {
        title: '投递任务即将超时',
        body: '你接受的投递任务{{letter_code?（信件编号 {{letter_code}}）}}已超过{{timeout_hours?{{timeout_hours}} 小时}}时限仍未送达，请尽快完成投递。',
      },
      en: {
        title: 'A delivery task is overdue',
        body: 'The delivery task you accepted{{letter_code? (letter {{letter_code}})}} is past its{{timeout_hours? {{timeout_hours}}-hour}} deadline. Please deliver it as soon as you can.',
      },
    },
  },
  task_reassigned: {
    variables: { role: required('text'), letter_code: optional('code') },
    text: {
      'zh-CN': {
        title: '投递任务已转派',
        body: '投递任务{{letter_code?（信件编号 {{letter_code}}）}}已重新分配（{{role}}）。请在 OpenPenPal 查看详情。',
      },
      en: {
        title: 'A delivery task was reassigned',
        body: 'The delivery task{{letter_code? (letter {{letter_code}})}} was reassigned ({{role}}). See OpenPenPal for details.',
      },
    },
  },
  task_reassignment_needed: {
    variables: { zone_code: optional('text'), letter_code: optional('code') },
    text: {
      'zh-CN': {
        title: '有投递任务需要人工分配',
        body: '{{zone_code?区域 {{zone_code}} 的}}投递任务{{letter_code?（信件编号 {{letter_code}}）}}超时且没有可接手的信使，请手动分配。',
      },
      en: {
        title: 'A delivery task needs a courier',
        body: 'A delivery task{{zone_code? in zone {{zone_code}}}}{{letter_code? (letter {{letter_code}})}} is overdue and no courier is eligible to take it. Please assign it by hand.',
      },
    },
  },
  letter_cleanup_notice: {
    variables: { deletion_date: required('date') },
    text: {
      'zh-CN': {
        title: '草稿信件已移入清理区',
        body: '你有一封信件超过 7 天未绑定编号，已移入清理区，将于 {{deletion_date}} 永久删除。',
      },
      en: {
        title: 'A draft letter moved to cleanup',
        body: 'A letter of yours was not bound to a code within 7 days and moved to the cleanup area. It will be deleted for good on {{deletion_date}}.',
      },
    },
  },
  daily_inspiration: {
    variables: { theme: required('text'), prompt: required('text'), style: optional('text') },
    text: {
      'zh-CN': { title: '今日写作灵感：{{theme}}', body: '{{prompt}}{{style?（风格：{{style}}）}}' },
      en: { title: "Today's writing prompt: {{theme}}", body: '{{prompt}}{{style? (style: {{style}})}}' },
    },
  },
  task_failed_alert: {
    variables: { task_name: required('text'), task_type: optional('text'), error_code: optional('text') },
    text: {
      'zh-CN': {
        title: '调度任务失败：{{task_name}}',
        body: '任务 {{task_name}}{{task_type?（{{task_type}}）}}已多次重试仍失败{{error_code?，错误码 {{error_code}}}}。请在调度管理后台查看。',
      },
      en: {
        title: 'Scheduler task failed: {{task_name}}',
        body: 'Task {{task_name}}{{task_type? ({{task_type}})}} failed after its retries{{error_code? with {{error_code}}}}. See the scheduler admin for details.',
      },
    },
  },
};
